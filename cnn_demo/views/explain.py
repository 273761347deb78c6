"""Explanations → what the "Why this digit?" tab shows: heatmaps over the input with a
legend, sweep tables for native plots, knock-out and nudge summaries."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import explain
from . import common, render

ZOOM = 7  # 28 px → 196 px


def overlay(img: np.ndarray, heat: np.ndarray, signed: bool) -> tuple[np.ndarray, tuple]:
    """The input in gray with the heatmap blended over it (alpha grows with |heat|)."""
    m = float(np.abs(heat).max()) or 1e-8
    scale = ("diverging", -m, m) if signed else ("viridis", 0.0, m)
    col = render.colorize(heat, *scale).astype(np.float32)
    base = np.repeat((np.clip(img, 0, 1) * 255)[..., None], 3, 2)
    alpha = np.clip(np.abs(heat) / m, 0, 1)[..., None] * 0.85
    return (base * (1 - alpha) + col * alpha).round().astype(np.uint8), scale


def heat_card(title: str, sub: str, img: np.ndarray, heat: np.ndarray, signed: bool, meaning: str) -> str:
    rgb, scale = overlay(img, heat, signed)
    alt = f"{title} {sub}, over the 28×28 input: values {float(heat.min()):.3g} to {float(heat.max()):.3g}. {meaning}"
    body = common.img_tag(rgb, alt, 28 * ZOOM, 28 * ZOOM) + f'<p class="cx-sub">{meaning}</p>'
    return common.card(title, sub, body, scale)


def canvas_card(pre, maps: dict, side: int = 200) -> str:
    """Heatmaps carried back onto the learner's own canvas (dark ink on white, as drawn)."""
    ink = pre.steps["ink"]
    step = max(1, int(np.ceil(max(ink.shape) / side)))
    figs = []
    scale = None
    for title, heat in maps.items():
        back = pre.to_ink_coords(heat)[::step, ::step]
        paper = 1 - ink[::step, ::step]
        m = float(np.abs(back).max()) or 1e-8
        scale = ("diverging", -m, m)
        col = render.colorize(back, *scale).astype(np.float32)
        base = np.repeat((paper * 255)[..., None], 3, 2)
        alpha = np.clip(np.abs(back) / m, 0, 1)[..., None] * 0.75
        rgb = (base * (1 - alpha) + col * alpha).round().astype(np.uint8)
        h, w = rgb.shape[:2]
        tag = common.img_tag(rgb, f"{title}, carried back onto your canvas: red where it supports the answer, "
                                 f"blue where it speaks against it, up to ±{common.fmt(m)}", w * side // max(h, w),
                                 h * side // max(h, w), True)
        figs.append(f'<figure class="cx-map">{tag}'
                    f"<figcaption>{title}</figcaption></figure>")
    return common.card("On your canvas", "the same maps carried back to where you drew, each on its own "
                           "scale (red: supports the answer; blue: speaks against it)",
                           f'<div class="cx-maps">{"".join(figs)}</div>')


def attributions_html(model, img: np.ndarray, cls: int, versus: int | None, layer: str, pre=None) -> str:
    what = f"“{cls}”" if versus is None else f"“{cls}” rather than “{versus}”"
    sal = explain.saliency(model, img, cls, versus)
    cam = explain.gradcam(model, img, cls, layer, versus)
    occ = explain.occlusion(model, img, cls)
    cards = [
        heat_card("Gradient saliency", f"for {what}", img, sal, True,
                  "Red: brightening this pixel would raise the score; blue: would lower it."),
        heat_card(f"Grad-CAM on {layer}", f"for {what}", img, cam, False,
                  f"Where {layer}'s feature maps that matter for this answer are active (bright = most)."),
        heat_card("Occlusion (6×6 patches)", f"probability of “{cls}”", img, occ, True,
                  "Red: blanking this region lowers the probability (it supports the answer); blue: raises it."),
    ]
    if pre is not None:
        cards.append(canvas_card(pre, {f"Grad-CAM on {layer}": cam, "occlusion": occ}))
    return '<div class="cx-stages">' + "".join(cards) + "</div>"


def sweep_frame(values: np.ndarray, probs: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"value": np.repeat(values, 10), "probability": probs.reshape(-1),
                         "digit": np.tile([str(d) for d in range(10)], len(values))})


def nudge_html(img: np.ndarray, target: int, after: np.ndarray, delta: np.ndarray, steps: int,
               before: np.ndarray, now: np.ndarray, max_steps: int = explain.NUDGE_STEPS) -> str:
    """The drawing before and after a nudge towards `target`, and the change. Every caption is
    read off the model's own probabilities on the picture it captions (`before` on `img`, `now`
    on `after`): what it reads, whether that is the target, and how far the target's
    probability moved — a nudge that ran out of steps says so, however close it came."""
    gray = lambda a: np.repeat(render.gray(a)[..., None], 3, 2)  # noqa: E731
    was, got = int(np.argmax(before)), int(np.argmax(now))
    m = float(np.abs(delta).max()) or 1e-8
    scale = ("diverging", -m, m)
    d = render.colorize(delta, *scale)
    pics = [(gray(img), f"before: the model reads {was} ({before[was]:.0%})",
             f"the drawing before the nudge: the model reads {was}"),
            (gray(after), f"after: the model reads {got} ({now[got]:.0%})", f"the nudged drawing: the model reads {got}"),
            (d, "difference: red ink added, blue ink taken away", "the change: red where ink was added, blue where "
                                                                  "it was taken away")]
    figs = "".join(f'<figure class="cx-map">{common.img_tag(a, alt, 140, 140)}<figcaption>{cap}</figcaption></figure>'
                   for a, cap, alt in pics)
    moved = f"“{target}” went from {_pct(before[target])} to {_pct(now[target])}"
    change = f"no pixel changed by more than {np.abs(delta).max():.2f} (of 1)"
    if got == target:
        title = f"Nudge towards “{target}”: reached"
        sub = (f"after {steps} gradient step{'s' if steps != 1 else ''} the model reads the drawing as “{target}”; "
               f"{moved}; {change}. To your eye it may still look like a {was}: the network reads pixels, not strokes")
    else:
        title = f"Nudge towards “{target}”: not reached"
        most = " (the most a nudge takes)" if steps >= max_steps else ""
        sub = (f"after {steps} gradient step{'s' if steps != 1 else ''}{most} the model still reads the drawing as "
               f"“{got}”, not “{target}”; {moved}; {change}")
    return common.card(title, sub, f'<div class="cx-maps">{figs}</div>', scale)


def _pct(p: float) -> str:
    """A probability as a learner reads it: 0.2% rather than 0% when it is small but there."""
    p = float(p)
    return f"{p:.0%}" if p >= 0.1 or p == 0 else f"{p:.1%}" if p >= 0.001 else "under 0.1%"


def nudge_already(target: int, before: np.ndarray) -> str:
    return (f'<p class="cx-sub">The model already reads “{target}” ({before[target]:.0%}) in this drawing: '
            "pick another digit to nudge it towards.</p>")
