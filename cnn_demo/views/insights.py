"""Insights → what the "What neurons look for" tab shows."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import insights
from . import common, render

Z = 4  # thumbnails: 28 px → 112 px


def thumb_with_box(img: np.ndarray, box: tuple | None = None) -> np.ndarray:
    """An MNIST thumbnail (uint8, ink white) upscaled, with a receptive-field box outlined."""
    big = np.repeat(np.repeat(img, Z, 0), Z, 1)
    rgb = np.repeat(big[..., None], 3, 2).copy()
    if box:
        t, l, b, r = (max(0, min(28 * Z - 1, int(round(v * Z)))) for v in box)
        col = np.array([245, 158, 11], np.uint8)
        rgb[t:t + 2, l:r + 1] = col
        rgb[max(t, b - 1):b + 1, l:r + 1] = col
        rgb[t:b + 1, l:l + 2] = col
        rgb[t:b + 1, max(l, r - 1):r + 1] = col
    return rgb


def top_html(ins: insights.Insights, model, layer: str, channel: int) -> str:
    idx, act, pos = ins.top(layer)
    first, step, size = insights.receptive_fields(model)[layer]
    figs = []
    for k in range(idx.shape[1]):
        r, c = pos[channel, k]
        cy, cx = first + step * r, first + step * c
        box = (cy - (size - 1) / 2, cx - (size - 1) / 2, cy + (size - 1) / 2 + 1, cx + (size - 1) / 2 + 1)
        tag = common.img_tag(thumb_with_box(ins.thumb(int(idx[channel, k])), box), f"test digit #{idx[channel, k]}, {layer} channel {channel} reaches "
                                 f"{act[channel, k]:.2f} in the outlined patch",
                                 28 * Z, 28 * Z)
        figs.append(f'<figure class="cx-map">{tag}<figcaption>#{idx[channel, k]} · {act[channel, k]:.2f}</figcaption></figure>')
    sub = (f"the 9 of 10,000 test digits that drive channel {channel} hardest; the box is the {size}×{size} patch "
           f"its strongest response sees (its receptive field); numbers: test index · activation")
    if np.ptp(act[channel]) <= 1e-3 * max(abs(float(act[channel].max())), 1e-6):
        sub += (". All nine tie: the channel answers most to a patch every digit has (usually blank paper), "
                "so these examples say little about it; “Visualise this channel” shows more")
    return common.card(f"{layer}, channel {channel}: top examples", sub, f'<div class="cx-maps">{"".join(figs)}</div>')


def visual_html(img: np.ndarray, act: float, best: float, layer: str, channel: int) -> str:
    tag = common.img_tag(np.repeat(render.gray(img)[..., None], 3, 2), f"an input optimised to excite {layer} channel {channel}", 168, 168)
    sub = (f"an input optimised to excite {layer} channel {channel} (jitter + total-variation penalty, pixels kept "
           f"in [0, 1]): activation {act:.2f}, against {best:.2f} for the best of the 10,000 test digits")
    return common.card("What it looks for", sub, tag)


def signatures_html(ins: insights.Insights, stage: str, drawing: np.ndarray | None) -> str:
    sig = ins.arrays[f"sig/{stage}"]
    vals = sig if drawing is None else np.vstack([sig, drawing.reshape(1, -1)])
    m = float(np.abs(vals).max()) or 1e-8
    scale = ("diverging", -m, m) if vals.min() < 0 else ("viridis", 0.0, m)
    rows = []
    closest = None
    if drawing is not None:
        closest, sims = insights.closest_class(ins, drawing, stage)
    def alt(whose: str, v: np.ndarray) -> str:
        top = ", ".join(str(int(i)) for i in np.argsort(-v)[:3])
        return (f"{whose} at {stage}: {v.size} values from {common.fmt(float(v.min()))} to "
                f"{common.fmt(float(v.max()))} as a barcode; the largest: units {top}")

    for k in range(10):
        tag = common.img_tag(render.colorize(sig[k:k + 1], *scale), alt(f"the signature of class {k}", sig[k]),
                                 480, 16)
        sim = f" · similarity {sims[k]:.2f}" if drawing is not None else ""
        mark = " ◀ closest" if k == closest else ""
        rows.append(f"<div class='cx-sigrow'><b>{k}</b>{tag}<span class='cx-sub'>{sim}{mark}</span></div>")
    if drawing is not None:
        tag = common.img_tag(render.colorize(drawing.reshape(1, -1), *scale), alt("your drawing's signature", drawing.reshape(-1)), 480, 16)
        rows.append(f"<div class='cx-sigrow'><b>you</b>{tag}<span class='cx-sub'> closest: {closest}</span></div>")
    sub = (f"{stage}: each class's average over 2,000 test digits, one cell per value"
           + ("; your drawing below, compared by cosine similarity" if drawing is not None else
              "; draw on the Draw tab to compare yours"))
    return common.card(f"Class signatures at {stage}", sub, "".join(rows), scale)


# ten distinct colours for the digits (Tableau 10) and black for the learner's drawing, which
# would otherwise share the first digit's colour (the default palette has ten)
EMBED_COLORS = {**dict(zip("0123456789", ["#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b",
                                         "#b279a2", "#ff9da6", "#9d755d", "#bab0ac"])), "your drawing": "#000000"}


def embedding_frame(ins: insights.Insights, point: np.ndarray | None) -> pd.DataFrame:
    a = ins.arrays
    df = pd.DataFrame({"x": a["embed/xy"][:, 0], "y": a["embed/xy"][:, 1],
                       "digit": [str(v) for v in a["embed/label"]], "test index": a["embed/idx"]})
    df = df.sort_values("digit", kind="stable", ignore_index=True)  # the legend in order 0–9
    # always a "your drawing" row (NaN without a drawing): Gradio's plot keeps the series of the
    # first frame it draws and would never show the point if it first came without it
    x, y = (point[0], point[1]) if point is not None else (np.nan, np.nan)
    return pd.concat([df, pd.DataFrame({"x": [x], "y": [y], "digit": ["your drawing"], "test index": [-1]})],
                     ignore_index=True)


def confusion_frame(ins: insights.Insights) -> pd.DataFrame:
    conf = ins.arrays["confusion"]
    df = pd.DataFrame(conf, columns=[f"→ {k}" for k in range(10)])
    df.insert(0, "true", [str(k) for k in range(10)])
    return df


def errors_html(ins: insights.Insights, true: int, pred: int) -> str:
    a = ins.arrays
    sel = np.flatnonzero((a["wrong/label"] == true) & (a["wrong/pred"] == pred))
    if true == pred:
        n = int(a["confusion"][true, true])
        return common.card(f"{true} read as {pred}", f"{n} test digits read correctly; pick an off-diagonal cell "
                               "to see mistakes", "")
    figs = []
    for k in sel[:24]:
        idx = int(a["wrong/idx"][k])
        p = a["wrong/probs"][k]
        tag = common.img_tag(thumb_with_box(ins.thumb(idx)), f"test digit #{idx}, a {true} read as {pred}", 84, 84)
        figs.append(f'<figure class="cx-map">{tag}<figcaption>#{idx}<br>{pred}: {p[pred]:.0%} · '
                    f'{true}: {p[true]:.0%}</figcaption></figure>')
    more = f" (first 24 of {len(sel)})" if len(sel) > 24 else ""
    return common.card(f"True {true}, read as {pred}: {len(sel)} test digits{more}",
                           "with the probability the model gave the wrong and the right digit",
                           f'<div class="cx-maps">{"".join(figs)}</div>' if figs else "<p>None.</p>")


