"""One unit's arithmetic (cnn_demo.unit) → the Draw tab's detail view: the chosen map
enlarged with the position marked, its receptive field on the network's input and on the
canvas, and the numbers, laid out so that they visibly add up to the map's value."""
from __future__ import annotations

import html

import numpy as np

from . import render
from .common import fmt, img_tag, number_grid
from ..preprocess import Preprocessed
from ..unit import Unit, softmax_steps

MARK = (220, 38, 38)  # the chosen position and the receptive field: red, as in the playground
SHOWN_CHANNELS = 6  # more input maps than this: the sums first, every number one click away


def outline(rgb: np.ndarray, box: tuple, zoom: float, color=MARK, width: int = 2) -> np.ndarray:
    """Draw the rectangle (top, left, bottom, right) of source pixels on an image made `zoom`
    times larger (bottom/right exclusive)."""
    out = rgb.copy()
    t, l, b, r = (int(round(v * zoom)) for v in box)
    h, w = out.shape[:2]
    t, l, b, r = max(0, min(t, h - 1)), max(0, min(l, w - 1)), max(1, min(b, h)), max(1, min(r, w))
    for k in range(width):
        out[min(t + k, h - 1), l:r] = color
        out[max(b - 1 - k, 0), l:r] = color
        out[t:b, min(l + k, w - 1)] = color
        out[t:b, max(r - 1 - k, 0)] = color
    return out


def enlarge(rgb: np.ndarray, side: int = 240) -> tuple[np.ndarray, int]:
    zoom = max(1, side // max(rgb.shape[:2]))
    return np.repeat(np.repeat(rgb, zoom, 0), zoom, 1), zoom


def chosen_map(title: str, m: np.ndarray, pos: tuple, model_index: int, stage: str, channel: int) -> str:
    """The map enlarged, the chosen square outlined; a click on it chooses another (ui/static/unit.js)."""
    scale = render.scale_for(m)
    big, zoom = enlarge(render.colorize(m, *scale))
    r, c = pos
    big = outline(big, (r, c, r + 1, c + 1), zoom, width=max(2, zoom // 6))
    h, w = m.shape
    alt = (f"{title}, a {h}×{w} map, values {fmt(float(m.min()))} to {fmt(float(m.max()))}; "
           f"row {r}, column {c} is outlined")
    tag = img_tag(big, alt, big.shape[1], big.shape[0])
    tag = tag.replace("<img ", f'<img data-unit-map="{model_index}|{html.escape(stage)}|{channel}" '
                               f'data-rows="{h}" data-cols="{w}" ', 1)
    return (f'<figure class="cx-step">{tag}<figcaption><b>{html.escape(title)}</b><br>click a square '
            f"(or use the Row and Column sliders) to choose it</figcaption></figure>")


def field_views(unit: Unit, x28: np.ndarray, pre: Preprocessed | None) -> str:
    """The receptive field outlined on the 28×28 input and, carried back, on the canvas."""
    t, l, b, r = unit.receptive
    gray = np.repeat((np.clip(x28, 0, 1) * 255).astype(np.uint8)[..., None], 3, 2)
    big, zoom = enlarge(gray, 168)
    parts = [f'<figure class="cx-step">{img_tag(outline(big, unit.receptive, zoom), _field_alt(unit, "network input"), big.shape[1], big.shape[0])}'
             f"<figcaption><b>receptive field</b><br>rows {t}–{b - 1}, columns {l}–{r - 1} of the "
             f"28×28 input: all this unit can see</figcaption></figure>"]
    if pre is not None and "ink" in pre.steps:
        ink = pre.steps["ink"]
        s, oy, ox = pre.grid_map
        top, left = pre.bbox[:2]
        box = ((t - oy) / s + top, (l - ox) / s + left, (b - oy) / s + top, (r - ox) / s + left)
        f = max(1, int(np.ceil(max(ink.shape) / 168)))
        small = render.fit(ink, 168) if f > 1 else ink
        paper = np.repeat(((1 - np.clip(small, 0, 1)) * 255).astype(np.uint8)[..., None], 3, 2)
        k = small.shape[0] / ink.shape[0]
        img = outline(paper, tuple(v * k for v in box), 1.0)
        parts.append(f'<figure class="cx-step">{img_tag(img, _field_alt(unit, "canvas"), img.shape[1], img.shape[0])}'
                     f"<figcaption><b>on your canvas</b><br>the same field where you drew</figcaption></figure>")
    return "".join(parts)


def _field_alt(unit: Unit, where: str) -> str:
    t, l, b, r = unit.receptive
    return f"The {where} with the receptive field of {unit.stage} map {unit.channel} outlined: rows {t} to {b - 1}, columns {l} to {r - 1}"


def _relu(unit: Unit) -> str:
    if unit.after_relu is None:
        return ""
    return (f'<p class="cx-eq">Then ReLU: max(0, {fmt(unit.total)}) = <b>{fmt(unit.after_relu)}</b>'
            f"{' (negative: switched off)' if unit.total < 0 else ''}.</p>")


def _sum_line(unit: Unit, parts: list[str], what: str) -> str:
    return (f'<p class="cx-eq">{what}: {" + ".join(parts)} = {fmt(unit.total - unit.bias)}; plus the bias '
            f"{fmt(unit.bias)} gives <b>{fmt(unit.total)}</b>, and the map holds <b>{fmt(unit.value)}</b> "
            f"(the model's own output{', equal' if abs(unit.total - unit.value) < 1e-3 * max(1, abs(unit.value)) else ''}).</p>")


def normalised_note(unit: Unit) -> str:
    """What the input's numbers mean, said once where they show: the network reads its pixels
    (0 blank paper, 1 full ink) normalised as its checkpoint says — MNIST's (pixel − 0.1307) /
    0.3081 for most, none at all for a checkpoint trained on raw pixels."""
    if not unit.normalised:
        return ""
    mean, std = unit.normalised
    if mean == 0 and std == 1:
        what = ("its pixels as they are, as this network reads them (its checkpoint takes raw pixels): blank "
                "paper is 0, full ink 1")
    else:
        how = "MNIST's normalisation" if (round(mean, 4), round(std, 4)) == (0.1307, 0.3081) else \
            "its checkpoint's normalisation"
        what = (f"its pixels after {how}, (pixel − {mean:.4g}) / {std:.4g}, as this network reads them: blank "
                f"paper (0) is {-mean / std:.2f}, full ink (1) is {(1 - mean) / std:.2f}")
    edge = (" The window reaches past the image's edge: those cells are the padding, 0 (on this scale, "
            "neither paper nor ink)." if unit.over_edge and (mean, std) != (0, 1) else
            " The window reaches past the image's edge: those cells are the padding, 0." if unit.over_edge else "")
    return f'<p class="cx-sub cx-norm">The input map\'s numbers are {what}.{edge}</p>'


def conv_html(unit: Unit, prev: str) -> str:
    n = unit.window.shape[0]
    sums = [fmt(float(s)) for s in unit.sums]
    head = _sum_line(unit, sums if n <= 16 else sums[:8] + ["…"], f"The sums over the {n} input map{'s' if n > 1 else ''}")
    wscale = render.scale_for(unit.window)
    kscale = render.scale_for(unit.kernel)
    pscale = render.scale_for(unit.products)
    blocks = []
    for i in range(n):
        blocks.append(
            f'<figure class="cx-card cx-unit-ch"><figcaption><b>{html.escape(prev)} map {i}</b> '
            f'<span class="cx-sub">window × kernel = products, summed: {sums[i]}</span></figcaption>'
            f'<div class="cx-unit-row">{number_grid(unit.window[i], cmap_scale=wscale)}<span class="cx-op">×</span>'
            f'{number_grid(unit.kernel[i], cmap_scale=kscale)}<span class="cx-op">=</span>'
            f'{number_grid(unit.products[i], cmap_scale=pscale)}<span class="cx-op">→ Σ = {sums[i]}</span></div></figure>')
    body = "".join(blocks[:SHOWN_CHANNELS])
    if n > SHOWN_CHANNELS:
        body += (f"<details><summary>The other {n - SHOWN_CHANNELS} input maps, number by number</summary>"
                 f'{"".join(blocks[SHOWN_CHANNELS:])}</details>')
    top = top_table(unit, prev) if n > SHOWN_CHANNELS else ""
    return head + _relu(unit) + normalised_note(unit) + top + f'<div class="cx-unit-chs">{body}</div>'


def pool_html(unit: Unit, prev: str) -> str:
    v = unit.window
    if unit.winner:
        what = (f"The largest of these {v.size} values of {html.escape(prev)} map {unit.channel} wins: "
                f"<b>{fmt(unit.total)}</b> (outlined); the map holds <b>{fmt(unit.value)}</b>.")
    else:
        what = f"The average of these {v.size} values: <b>{fmt(unit.total)}</b>; the map holds <b>{fmt(unit.value)}</b>."
    return f'<p class="cx-eq">{what}</p>' + number_grid(v, cmap_scale=render.scale_for(v), mark=unit.winner or None)


def input_name(i: int, prev: str, shape: tuple) -> str:
    """Which value of the previous stage the i-th input of a fully connected layer is."""
    if len(shape) == 3 and shape[1] * shape[2] > 1:
        c, rest = divmod(i, shape[1] * shape[2])
        r, col = divmod(rest, shape[2])
        return f"{prev} map {c}, row {r}, col {col}"
    return f"{prev} unit {i}"


def top_table(unit: Unit, prev: str, prev_shape: tuple = ()) -> str:
    rows = []
    for i, x, w, p in unit.top:
        if unit.kind == "conv":
            k = unit.window.shape[1] * unit.window.shape[2]
            c, rest = divmod(i, k)
            r, col = divmod(rest, unit.window.shape[2])
            name = f"{prev} map {c}, row {r}, col {col} of the window"
        else:
            name = input_name(i, prev, prev_shape)
        rows.append(f"<tr><td>{html.escape(name)}</td><td>{fmt(x)}</td><td>{fmt(w)}</td><td>{fmt(p)}</td></tr>")
    total_n = unit.products.size
    shown = sum(p for *_, p in unit.top)
    rest = (unit.total - unit.bias) - shown
    rows.append(f"<tr><td>the other {total_n - len(unit.top)} inputs together</td><td></td><td></td><td>{fmt(rest)}</td></tr>")
    rows.append(f"<tr><td>bias</td><td></td><td></td><td>{fmt(unit.bias)}</td></tr>")
    rows.append(f"<tr><th scope=\"row\">total</th><td></td><td></td><td><b>{fmt(unit.total)}</b></td></tr>")
    return (f'<table class="cx-table"><caption>The {len(unit.top)} largest contributions (input × weight) of '
            f"{total_n}</caption><tr><th scope=\"col\">input</th><th scope=\"col\">input value</th>"
            f'<th scope="col">weight</th><th scope="col">product</th></tr>{"".join(rows)}</table>')


def linear_html(unit: Unit, prev: str, prev_shape: tuple) -> str:
    eq = (f'<p class="cx-eq">{html.escape(unit.stage)} unit {unit.channel} = the sum of all {unit.products.size} '
          f"inputs × their weights + the bias = <b>{fmt(unit.total)}</b>; the network's own value: "
          f"<b>{fmt(unit.value)}</b>.</p>")
    return eq + _relu(unit) + normalised_note(unit) + top_table(unit, prev, prev_shape)


def softmax_html(logits: np.ndarray, label: str) -> str:
    s = softmax_steps(logits)
    rows = "".join(
        f"<tr><th scope=\"row\">{d}</th><td>{fmt(float(s['logits'][d]))}</td><td>{fmt(float(s['shifted'][d]))}</td>"
        f"<td>{float(s['exp'][d]):.4g}</td><td>{float(s['probabilities'][d]):.1%}</td></tr>" for d in range(len(s["logits"])))
    top = int(np.argmax(s["probabilities"]))
    return (f'<table class="cx-table"><caption>The softmax worked through: {html.escape(label)} reads '
            f"<b>{top}</b> ({float(s['probabilities'][top]):.1%}), as the Prediction says</caption>"
            f'<tr><th scope="col">digit</th><th scope="col">logit</th><th scope="col">minus the largest</th>'
            f'<th scope="col">exponential</th><th scope="col">÷ their sum ({float(s["sum"]):.4g})</th></tr>'
            f"{rows}</table>")


def unit_html(unit: Unit, *, model_title: str, model_index: int, stage_map: np.ndarray | None, prev: str,
              prev_shape: tuple, x28: np.ndarray, pre: Preprocessed | None, logits: np.ndarray | None = None) -> str:
    """The whole detail view for one unit."""
    where = f" at row {unit.position[0]}, column {unit.position[1]}" if unit.position and stage_map is not None \
        and stage_map.size > 1 else ""
    label = "digit" if logits is not None else \
        "unit" if unit.kind == "linear" or stage_map is None or stage_map.size == 1 else "map"
    head = (f'<h3 class="cx-h">{html.escape(unit.stage)}, {label} {unit.channel}{where} — '
            f"{html.escape(model_title)}</h3>")
    pics = ""
    if stage_map is not None and stage_map.size > 1:
        pics = chosen_map(f"{unit.stage} map {unit.channel}", stage_map, unit.position, model_index, unit.stage,
                          unit.channel)
    if unit.receptive:
        pics += field_views(unit, x28, pre)
    body = {"conv": lambda: conv_html(unit, prev), "pool": lambda: pool_html(unit, prev),
            "linear": lambda: linear_html(unit, prev, prev_shape)}[unit.kind]()
    if logits is not None:
        body += softmax_html(logits, model_title)
    # what the flow outlines (ui/static/unit.js): the model, the stage and the map shown here
    return (f'<div class="cx-unit" data-model="{model_index}" data-stage="{html.escape(unit.stage)}" '
            f'data-ch="{unit.channel}">{head}<div class="cx-steps">{pics}</div>{body}</div>')
