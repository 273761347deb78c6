"""The Draw tab's look inside one unit: click (or choose) any feature map of any stage and see
how one of its values was computed on the current drawing (cnn_demo/unit.py does the
arithmetic, views/unit.py lays it out).

The per-stroke path knows nothing of it: a click on a map, the controls here and, while the
detail is open, each new drawing (ui/static/unit.js clicks the hidden refresh button) are its
only events.
"""
from __future__ import annotations

import time

import gradio as gr
import numpy as np
import torch

from .. import drawing, unit
from ..preprocess import InputError
from ..registry import Registry, UnknownCheckpoint
from ..views.common import warning_html
from ..views.unit import unit_html
from .shared import Shared, bound

INTRO_HTML = ('<p class="cx-sub">Click any map or cell of the network above to see how one of its numbers was '
              "computed from the stage before: the window under the kernel, the products, the sums, the bias, then "
              "ReLU.</p>")
SLIDE_FRAMES = 49  # the sliding window's animation: at most this many positions over the map


def _which(choice, which) -> str:
    names = drawing.model_names(choice)
    return which if which in names else names[0]


def _stage_of(model, stage: str) -> str:
    """The stage whose arithmetic a click on `stage`'s picture means: a ReLU's or a flatten's
    own work is trivial, so its conv (or the layer before) is shown, with ReLU's output."""
    names, ok = model.names, unit.explainable(model)
    if stage in ok:
        return stage
    if stage not in names:
        return ok[0]
    before = [n for n in names[:names.index(stage)] if n in ok]
    return before[-1] if before else ok[0]


def _shapes(model) -> dict[str, tuple]:
    with torch.inference_mode():
        return {n: tuple(y.shape[1:]) for n, y in model.stages(torch.zeros(1, 1, 28, 28))}


def _limits(model, stage: str) -> tuple[int, int, int]:
    """(maps or units, rows, columns) of a stage's output."""
    s = _shapes(model)[stage]
    return (s[0], s[1], s[2]) if len(s) == 3 else (s[0], 1, 1)


def _previous(model, stage: str, acts: dict) -> tuple[str, tuple]:
    """The stage a unit reads from, by the name a learner knows, and its output's shape."""
    names = model.names
    i = names.index(stage)
    j = i - 1
    while j >= 0 and names[j] == "flatten":
        j -= 1
    if j < 0:
        return "input", (1, 28, 28)
    name = names[j]
    shape = tuple(acts[name].shape[1:])
    return (name[:-len("_relu")] + " (after ReLU)" if name.endswith("_relu") else name), shape


def detail(registry: Registry, value, choice, which, stage, channel, row, col) -> str:
    """The detail view of one unit on the current drawing — on a blank canvas, on the example the
    Draw tab shows until the learner draws (its maps are the ones there to click) — or a
    sentence saying what is missing."""
    note = ""
    if drawing.drawn(value) is None:
        value = drawing.example()
        note = (f'<p class="cx-sub">On the example {drawing.EXAMPLE} the page opened with: draw your own digit and '
                "this follows it.</p>")
    img = drawing.drawn(value)
    if img is None:
        return warning_html("Draw a digit first: the detail shows how the network computed a value on your drawing.")
    try:
        entry = registry.get(_which(choice, which))
        model = entry.ck.model
        stage = _stage_of(model, stage if isinstance(stage, str) else "")
        pre = drawing.prepared(value)
        x = pre.tensor()
        acts = unit.activations(model, x)
        u = unit.explain(model, x, stage, _int(channel), (_int(row), _int(col)), acts=acts)
    except (InputError, UnknownCheckpoint, unit.UnitError) as e:
        return warning_html(e)
    out = acts[stage][0].numpy()
    prev, prev_shape = _previous(model, stage, acts)
    stage_map = out[u.channel] if out.ndim == 3 and out.shape[1] * out.shape[2] > 1 else None
    logits = acts[model.last][0].numpy() if stage == model.last else None
    return note + unit_html(u, model_title=entry.ck.title, model_index=drawing.model_names(choice).index(entry.ck.name)
                     if entry.ck.name in drawing.model_names(choice) else 0, stage_map=stage_map, prev=prev,
                     prev_shape=prev_shape, x28=pre.image, pre=pre, logits=logits)


def _int(v) -> int:
    try:
        return int(v)
    except (TypeError, ValueError, OverflowError):
        return 0


def controls_for(registry: Registry, choice, which, stage, channel=0, row=None, col=None):
    """The stage, map and position controls set for `stage` of the chosen model: their ranges,
    and the values kept inside them (the middle of the map when none is given)."""
    try:
        model = registry.get(_which(choice, which)).ck.model
    except UnknownCheckpoint:
        return gr.update(), gr.update(), gr.update(), gr.update()
    stage = _stage_of(model, stage if isinstance(stage, str) else "")
    n, h, w = _limits(model, stage)
    row = h // 2 if row is None else min(max(_int(row), 0), h - 1)
    col = w // 2 if col is None else min(max(_int(col), 0), w - 1)
    return (gr.update(choices=unit.explainable(model), value=stage),
            gr.update(maximum=n - 1, value=min(max(_int(channel), 0), n - 1),
                      label=f"Map (0–{n - 1})" if h * w > 1 else f"Unit (0–{n - 1})"),
            gr.update(maximum=max(h - 1, 1), value=row, interactive=h > 1),  # a slider needs a range
            gr.update(maximum=max(w - 1, 1), value=col, interactive=w > 1))


def on_pick(registry: Registry, value, choice, pick):
    """A click on a map (ui/static/unit.js): "model index|stage|channel|row|col|nonce"."""
    parts = (pick or "").split("|")
    names = drawing.model_names(choice)
    try:
        which = names[min(max(int(parts[0]), 0), len(names) - 1)]
        stage, channel = parts[1][:40], int(parts[2])
        row, col = (int(parts[3]), int(parts[4])) if len(parts) > 4 and parts[3] != "" else (None, None)
    except (IndexError, ValueError):
        return (gr.update(),) * 8
    st, ch, r, c = controls_for(registry, choice, which, stage, channel, row, col)
    html = detail(registry, value, choice, which, st.get("value"), ch.get("value"), r.get("value"), c.get("value"))
    return (gr.update(open=True), gr.update(choices=names, value=which, visible=len(names) > 1), st, ch, r, c, html,
            spatial_for(r))


def spatial_for(row_update: dict):
    """The position's controls, shown only for a stage of maps (a row to choose)."""
    return gr.update(visible=row_update.get("interactive", True))


def on_stage(registry: Registry, value, choice, which, stage, channel, row, col):
    st, ch, r, c = controls_for(registry, choice, which, stage, channel, row, col)
    return ch, r, c, detail(registry, value, choice, which, st.get("value"), ch.get("value"), r.get("value"),
                            c.get("value")), spatial_for(r)


def on_models(choice):
    names = drawing.model_names(choice)
    return gr.update(choices=names, value=names[0], visible=len(names) > 1)


def slide(registry: Registry, value, choice, which, stage, channel):
    """The window sliding over the whole map: the detail at positions row by row (every
    position of a small map, evenly spaced ones of a large one)."""
    try:
        model = registry.get(_which(choice, which)).ck.model
    except UnknownCheckpoint as e:
        yield gr.update(), gr.update(), warning_html(e)
        return
    _, h, w = _limits(model, _stage_of(model, stage if isinstance(stage, str) else ""))
    step = max(1, int(np.ceil(np.sqrt(h * w / SLIDE_FRAMES))))
    for r in range(0, h, step):
        for c in range(0, w, step):
            yield r, c, detail(registry, value, choice, which, stage, channel, r, c)
            time.sleep(0.2)


def build(shared: Shared):
    """Inside the Draw tab, under the stages."""
    registry = shared.registry
    first = registry.get(drawing.first_model(None)).ck.model if drawing.DEFAULT in registry.names() else None
    stages = unit.explainable(first) if first is not None else []
    with gr.Accordion("Look inside one unit: how a value was computed", open=False, elem_id="unit-panel") as panel:
        out = gr.HTML(INTRO_HTML, elem_id="unit-detail")  # first: what a click opens is what the learner reads
        gr.Markdown("Or choose a stage, a map and a position here; the arrow keys move the sliders.")
        with gr.Row():
            which = gr.Dropdown(drawing.model_names(None), value=drawing.DEFAULT, label="Model", visible=False,
                                elem_id="unit-model")
            stage = gr.Dropdown(stages, value=stages[0] if stages else None, label="Stage", elem_id="unit-stage")
            channel = gr.Slider(0, 5, value=0, step=1, label="Map / unit (0–5)", elem_id="unit-channel")
        with gr.Group() as spatial:  # a position in a map: not for a stage of single numbers (C5, F6, OUTPUT)
            with gr.Row():
                row = gr.Slider(0, 27, value=14, step=1, label="Row", elem_id="unit-row")
                col = gr.Slider(0, 27, value=14, step=1, label="Column", elem_id="unit-col")
            slide_btn = gr.Button("▶ Slide the window over the whole map", size="sm", elem_id="unit-slide")
    # outside the accordion: Gradio renders a closed accordion's contents only once it opens
    pick = gr.Textbox(visible="hidden", elem_id="unit-pick", label="chosen unit")
    refresh = gr.Button("Refresh", visible="hidden", elem_id="unit-refresh")
    shared.parts["unit"] = [panel, which, stage, channel, row, col, out, spatial]
    quiet = dict(show_progress="hidden", api_visibility="private")
    sketch, model = shared.sketch, shared.model
    pick.change(bound(on_pick, registry), [sketch, model, pick], shared.parts["unit"], **quiet)
    view = [sketch, model, which, stage, channel, row, col]
    last = dict(trigger_mode="always_last", **quiet)
    gr.on([stage.input, which.input], bound(on_stage, registry), view, [channel, row, col, out, spatial], **last)
    gr.on([channel.input, row.input, col.input, refresh.click], bound(detail, registry), view, out, **last)
    model.change(on_models, [model], [which], **quiet)
    slide_btn.click(bound(slide, registry), [sketch, model, which, stage, channel], [row, col, out], **quiet)
