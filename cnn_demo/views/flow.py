"""The network as one flow: the input and every stage of a model in order, left to right (top to
bottom on a phone), every map a tile a learner can click, and between two stages what joins
them — a line from each map to each map it reads (a convolution, a fully connected layer), or
one line a map (ReLU, pooling) — with the operation named.

A stage's maps are one palette PNG (render.feature_mosaic), as before: each tile is a <div>
whose background is that mosaic, shifted to its tile, so a stroke still encodes one image a
stage, and CSS alone lays the tiles out in a column (a wide screen) or in rows (a phone).
Vectors (C5, F6, the logits) are a strip of cells, upright beside the maps, across on a phone.
"""
from __future__ import annotations

import html

import numpy as np

from . import render
from .common import fmt, legend
from ..probe import Stage

FLOW_H = 420  # px: the tallest a stage's maps may stand (the flow's height on a wide screen)
COL_W = 110  # px: the widest a stage's column of maps may be
GAP = 2  # px between tiles
HEAD = 44  # px: a column's name and shape, above its maps (the joins' lines start below it)
CELL_MAX = 28  # px: a vector's cell at most (the 10 logits)
JOIN_W = 24  # px between two columns
TITLES = {"OUTPUT": "OUTPUT", "fc": "fc"}
WHAT = {
    "conv": "convolution: each map is one learned filter slid over every map before it, then summed",
    "relu": "ReLU: negative values set to 0, positive ones kept",
    "pool": "pooling: keeps the strongest value of each small window, shrinking the maps",
    "linear": "fully connected: every value is a weighted sum of all the values before it",
}


def tiling(n: int, h: int, w: int) -> tuple[int, int]:
    """(columns, tile side in px) for n maps of h×w: the largest tiles that fit FLOW_H high and
    COL_W wide (never smaller than one screen pixel a value), with as few columns as give them."""
    best = (1, 0)
    for cols in range(1, min(n, 8) + 1):
        rows = -(-n // cols)
        side = min((FLOW_H + GAP) // rows - GAP, (COL_W + GAP) // cols - GAP, 8 * max(h, w))
        if side > best[1]:
            best = (cols, side)
    cols, side = best
    return cols, max(side, max(h, w))


def _centres(n: int, cols: int, side: int) -> list[float]:
    """The y of each tile's row centre, below the column's head."""
    return [HEAD + (k // cols) * (side + GAP) + side / 2 for k in range(n)]


def title_of(stage: Stage) -> str:
    return TITLES.get(stage.name, stage.name.replace("_relu", " + ReLU"))


def _head(title: str, shape: str, what: str) -> str:
    return (f'<div class="cx-fhead" title="{html.escape(what)}"><b>{html.escape(title)}</b>'
            f'<span class="cx-sub">{html.escape(shape)}</span></div>')


def maps_column(stage: Stage, model_index: int) -> tuple[str, list[float]]:
    """A stage of maps: its head, its tiles (clickable), its scale; and where its tiles sit."""
    out = stage.output
    n, h, w = out.shape
    cols, side = tiling(n, h, w)
    mosaic, scale = render.feature_mosaic(out, cols)
    zoom = side / w
    title = title_of(stage)
    lo, hi = float(out.min()), float(out.max())
    what = WHAT.get(stage.kind, stage.kind)
    # each tile's place in the mosaic, in tiles (the grid's --step turns it into pixels): short to send
    tiles = "".join(f'<div class="cx-tile" data-ch="{k}" style="--x:{k % cols};--y:{k // cols}"></div>'
                    for k in range(n))
    label = (f"{title}: {n} feature maps of {h}×{w}, values {fmt(lo)} to {fmt(hi)}; {what}. "
             f"Press Enter to look inside map 0, or click any map.")
    grid = (f'<div class="cx-tiles" role="button" tabindex="0" aria-label="{html.escape(label)}"'
            f' data-stage="{html.escape(stage.name)}" data-model="{model_index}" data-th="{h}" data-tw="{w}"'
            f' data-n="{n}" style="--cols:{cols};--side:{side}px;--sprite:url({render.data_uri(mosaic)});'
            f'--sprite-size:{mosaic.shape[1] * zoom:g}px {mosaic.shape[0] * zoom:g}px;--step-x:{(w + 1) * zoom:g}px;'
            f'--step-y:{(h + 1) * zoom:g}px">{tiles}</div>')
    body = _head(title, "×".join(map(str, out.shape)), what) + grid + legend(scale)
    return f'<div class="cx-fcol">{body}</div>', _centres(n, cols, side)


def vector_column(stage: Stage, model_index: int, digits: bool) -> tuple[str, list[float]]:
    """A vector stage (C5, F6, the logits): a strip of cells, one a value, clickable."""
    v = stage.output.reshape(-1)
    n = v.size
    strip, scale = render.barcode(v)  # (1, n, 3)
    cell = max(2.0, min(CELL_MAX, FLOW_H / n))
    title = title_of(stage)
    lo, hi = float(v.min()), float(v.max())
    top = np.argsort(v)[::-1][:3]
    strongest = ", ".join(f"{i} ({fmt(float(v[i]))})" for i in top)
    what = WHAT.get(stage.kind, stage.kind)
    label = (f"{title}: {n} values from {fmt(lo)} to {fmt(hi)}, one cell each; the largest: "
             f"{'digit ' if digits else 'unit '}{strongest}. Press Enter to look inside the first, or click a cell.")
    attrs = (f'role="button" tabindex="0" aria-label="{html.escape(label)}" data-stage="{html.escape(stage.name)}"'
             f' data-model="{model_index}" data-n="{n}"')
    upright = render.data_uri(np.ascontiguousarray(strip.transpose(1, 0, 2)))
    across = render.data_uri(strip)
    bar = (f'<div class="cx-vec" {attrs} style="--cell:{cell:g}px;--n:{n}">'
           f'<img class="cx-px cx-up" src="{upright}" alt="" data-dir="down">'
           f'<img class="cx-px cx-across" src="{across}" alt="" data-dir="across">')
    if digits:
        win = int(v.argmax())
        bar += '<div class="cx-vdigits">' + "".join(
            f'<span{" class=cx-win" if d == win else ""}>{d}</span>' for d in range(n)) + "</div>"
    bar += "</div>"
    shape = "×".join(map(str, stage.output.shape))
    body = _head(title, shape, what) + bar + legend(scale)
    return f'<div class="cx-fcol cx-fvec">{body}</div>', [HEAD + (i + 0.5) * cell for i in range(n)]


def input_column(x28: np.ndarray) -> tuple[str, list[float]]:
    side = 84  # the learner's digit, a little larger than the maps made from it
    img = (f'<img class="cx-px cx-input" src="{render.data_uri(render.gray(x28))}" style="width:{side}px;'
           f'height:{side}px" alt="The input: your digit as the network sees it, 28×28 pixels, white ink on black">')
    return (f'<div class="cx-fcol">{_head("input", "1×28×28", "your drawing, preprocessed as MNIST was")}{img}'
            f'</div>', [HEAD + side / 2])


def join(kind: str, label: str, left: list[float], right: list[float], one_to_one: bool) -> str:
    """What connects two columns: a line from each map to each map it feeds (at most 8 × 8 of
    them, the rest implied), or one line a map; the operation named above them."""
    height = max(left[-1], right[-1]) + 8
    if one_to_one and len(left) == len(right):
        pairs = list(zip(left, right))[::max(1, len(left) // 24)]
    else:
        ls, rs = sorted(set(left)), sorted(set(right))
        step_l, step_r = max(1, -(-len(ls) // 8)), max(1, -(-len(rs) // 8))  # at most 8 × 8 lines suggest all-to-all
        pairs = [(a, b) for a in ls[::step_l] for b in rs[::step_r]]
    path = "".join(f"M0 {a:.0f}L{JOIN_W} {b:.0f}" for a, b in dict.fromkeys(pairs))  # one path: short to send
    return (f'<div class="cx-join" data-kind="{html.escape(kind)}"><span class="cx-jop">{html.escape(label)}</span>'
            f'<svg width="{JOIN_W}" height="{height:.0f}" viewBox="0 0 {JOIN_W} {height:.0f}" aria-hidden="true">'
            f'<path d="{path}"/></svg>'
            f'<span class="cx-down" aria-hidden="true">↓ {html.escape(label)}</span></div>')


def flow_html(stages: list[Stage], x28: np.ndarray, ops: dict[str, str], heading: str = "",
              model_index: int = 0) -> str:
    """One model's flow. `ops` names what each stage does ("conv 5×5", "max-pool 2×2", ...)."""
    col, centres = input_column(x28)
    parts = [col]
    last = stages[-1].name if stages else ""
    for s in stages:
        spatial = s.output.ndim == 3 and s.output.shape[1] * s.output.shape[2] > 1
        col, here = maps_column(s, model_index) if spatial else vector_column(s, model_index, s.name == last)
        parts.append(join(s.kind, ops.get(s.name, s.kind), centres, here, s.kind in ("relu", "pool")))
        parts.append(col)
        centres = here
    head = f'<h3 class="cx-h">{html.escape(heading)}</h3>' if heading else ""
    return f'<div class="cx-flowbox">{head}<div class="cx-flow">{"".join(parts)}</div></div>'


def op_labels(model) -> dict[str, str]:
    """What each stage of a model does, in a few words: its kind and its window."""
    from torch import nn
    out = {}
    for name, m in model.named_children():
        if isinstance(m, nn.Conv2d):
            k = m.kernel_size
            out[name] = f"conv {k[0]}×{k[1]}"
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            k = m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[0]
            out[name] = f"{'max' if isinstance(m, nn.MaxPool2d) else 'avg'}-pool {k}×{k}"
        elif isinstance(m, nn.ReLU):
            out[name] = "ReLU"
        elif isinstance(m, nn.Linear):
            out[name] = "fully connected"
    return out
