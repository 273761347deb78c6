"""What each neuron looks for: top examples, feature visualisation, class signatures,
an embedding with the learner's drawing placed in it, and the errors."""
from __future__ import annotations

import gradio as gr
import numpy as np

from .. import drawing, insights
from ..models import UnknownStage
from ..preprocess import InputError
from ..registry import Registry, UnknownCheckpoint
from ..views import insights as insights_view
from ..views.common import warning_html
from . import moved, say
from .shared import Shared, bound

REFUSED = (insights.Unavailable, UnknownCheckpoint, UnknownStage)


def get(registry: Registry, name):
    """The checkpoint's model and its dataset views (read or computed once per entry)."""
    entry = registry.get(name)
    return entry.ck.model, entry.cached("insights", lambda: insights.of_checkpoint(entry.ck, name))


def drawing_input(value):
    """The drawing as the network's input, or None (nothing drawn, or nothing usable)."""
    try:
        return drawing.prepared(value).tensor()
    except InputError:
        return None


def stage_vector(m, x, stage) -> np.ndarray | None:
    """The drawing's values at a 1-D stage (C5, F6, OUTPUT, ...), for the class signatures."""
    if x is None or stage is None:
        return None
    return m.features(x, [stage])[stage].detach().numpy().reshape(-1)


def on_model(registry: Registry, name, value, lay_v=None, ch_v=None, st_v=None):
    """Every view of the tab for a checkpoint, with the drawing placed where it can be. The
    layer (with its channel) and stage chosen before are kept where this checkpoint has them
    (coming back to the tab, or a link that names them); otherwise its second conv layer,
    channel 0 and its first stage."""
    try:
        m, ins = get(registry, name)
    except REFUSED as e:
        return (say(e),) + (gr.update(),) * 8
    layers = insights.conv_names(m)
    kept = lay_v in layers
    lay = lay_v if kept else layers[min(1, len(layers) - 1)]
    ch = _whole(ch_v) if kept else None  # a channel number means nothing in another layer
    ch = ch if ch is not None and 0 <= ch < m.channels(lay) else 0
    stages = [k.split("/", 1)[1] for k in ins.arrays if k.startswith("sig/")]
    acc = ins.arrays["confusion"].trace() / ins.arrays["confusion"].sum()
    x = drawing_input(value)
    point = insights.embed_point(ins, m, x) if x is not None else None
    st = st_v if st_v in stages else (stages[0] if stages else None)
    return (f"{name}: {acc:.2%} of the test digits right.",
            gr.update(choices=layers, value=lay),
            gr.update(maximum=m.channels(lay) - 1, value=ch),
            insights_view.top_html(ins, m, lay, ch), "",
            gr.update(choices=stages, value=st),
            insights_view.signatures_html(ins, st, stage_vector(m, x, st)) if st else "",
            insights_view.embedding_frame(ins, point), insights_view.confusion_frame(ins))


def _whole(v) -> int | None:
    try:
        return int(v) if float(v) == int(v) else None
    except (TypeError, ValueError, OverflowError):
        return None


def restore(registry: Registry, given: dict, value, choice=None) -> tuple:
    """A link's or lesson's view of this tab (`ins.*` keys): the checkpoint, layer, channel
    and stage it names where they exist here (the checkpoint on the Draw tab's default
    otherwise), as updates for the checkpoint choice and every view."""
    name = given.get("ins.model")
    name = name if isinstance(name, str) and name in registry.names() else drawing.DEFAULT
    return (gr.update(value=name),) + on_model(registry, name, value, given.get("ins.layer"),
                                               given.get("ins.channel"), given.get("ins.stage"))


def on_layer(registry: Registry, name, lay, ch):
    """Another layer or channel: the layer's channels on the slider (the channel kept if it has
    one) and that channel's top examples. One handler for both picks, so the slider never
    names a channel the layer lacks, whichever answer comes first."""
    try:
        m, ins = get(registry, name)
        last = m.channels(lay) - 1
        kept = min(max(_whole(ch) or 0, 0), last)
        return moved(kept, ch, maximum=last), insights_view.top_html(ins, m, lay, kept), ""
    except REFUSED + (KeyError, IndexError) as e:
        return gr.update(), gr.update(), warning_html(e)


def on_vis(registry: Registry, name, lay, ch):
    try:
        m, ins = get(registry, name)
        img, a = insights.visualise(m, lay, int(ch))
    except REFUSED as e:
        return warning_html(e)
    return insights_view.visual_html(img, a, float(ins.arrays[f"max/{lay}"][int(ch)]), lay, int(ch))


def on_stage(registry: Registry, name, st, value):
    try:
        m, ins = get(registry, name)
        if f"sig/{st}" not in ins.arrays:
            return warning_html(f"No class signatures for the stage {str(st)[:40]!r} of {name}.") if st else ""
        return insights_view.signatures_html(ins, st, stage_vector(m, drawing_input(value), st)) if st else ""
    except REFUSED as e:
        return warning_html(e)


def on_cell(registry: Registry, name, evt: gr.SelectData):
    try:
        _, ins = get(registry, name)
    except REFUSED as e:
        return warning_html(e)
    r, c = evt.index
    if c == 0:
        return "Pick a number in the table: row = the true digit, column = what the model read."
    return insights_view.errors_html(ins, int(r), int(c) - 1)


def build(shared: Shared):
    registry, sketch = shared.registry, shared.sketch
    with gr.Tab("What neurons look for", id="insights") as tab:
        gr.Markdown("## What each neuron looks for\nComputed once per checkpoint over the 10,000 MNIST test "
                    "digits and kept beside it, so this works without the dataset.")
        with gr.Row():
            model = gr.Dropdown(registry.names(), value=drawing.DEFAULT, label="Checkpoint", elem_id="ins-model")
            status = gr.Markdown(elem_id="ins-status")
        with gr.Accordion("Top examples and feature visualisation", open=True):
            with gr.Row():
                layer = gr.Dropdown(["C1", "C3", "C5"], value="C3", label="Layer", elem_id="ins-layer", allow_custom_value=True)
                channel = gr.Slider(0, 15, 0, step=1, label="Channel", elem_id="ins-channel")
                vis_btn = gr.Button("Visualise this channel", elem_id="ins-vis-go")
            top = gr.HTML(elem_id="ins-top")
            vis = gr.HTML(elem_id="ins-vis")
        with gr.Accordion("Class signatures (with your drawing)", open=False):
            stage = gr.Dropdown([], label="Stage", elem_id="ins-stage", allow_custom_value=True)
            sig = gr.HTML(elem_id="ins-sig")
        with gr.Accordion("Embedding of the last hidden layer (PCA), with your drawing", open=False):
            scatter = gr.ScatterPlot(x="x", y="y", color="digit", tooltip=["digit", "test index"], height=420,
                                     color_map=insights_view.EMBED_COLORS, elem_id="ins-embed")
        with gr.Accordion("Errors: the confusion matrix (pick a cell)", open=False):
            conf = gr.Dataframe(interactive=False, elem_id="ins-conf")
            errs = gr.HTML(elem_id="ins-errs")

    # the layer and stage lists follow the checkpoint, and a request sent just before they
    # change still carries the old pick: the handlers check those values themselves
    # (allow_custom_value), so a late one gets the checkpoint's own rather than Gradio's error
    opts = dict(api_visibility="private", show_progress="minimal")
    outs = [status, layer, channel, top, vis, stage, sig, scatter, conf]
    shared.restorable("insights", bound(restore, shared.registry), {
        "ins.model": model, "ins.layer": layer, "ins.channel": channel, "ins.stage": stage}, [model] + outs)
    # opening the tab (a link selecting it too) or another checkpoint shows every view with the
    # drawing as it is now, keeping the layer, channel and stage picked before where they exist.
    # The learner's picks are `input`s: a `change` would also follow a link setting the
    # checkpoint, and read the layer from before the link's values arrived
    kept = [model, sketch, layer, channel, stage]
    gr.on([tab.select, model.input], bound(on_model, registry), kept, outs, trigger_mode="always_last", **opts)
    model.focus(lambda: gr.update(choices=registry.names()), None, model, api_visibility="private", queue=False)
    gr.on([layer.input, channel.input], bound(on_layer, registry), [model, layer, channel], [channel, top, vis],
          trigger_mode="always_last", **opts)
    vis_btn.click(bound(on_vis, registry), [model, layer, channel], vis, **opts)
    stage.input(bound(on_stage, registry), [model, stage, sketch], sig, **opts)
    conf.select(bound(on_cell, registry), [model], errs, **opts)
