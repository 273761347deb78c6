"""What each neuron looks for: top examples, feature visualisation, class signatures,
an embedding with the learner's drawing placed in it, and the errors."""
from __future__ import annotations

import html

import gradio as gr
import numpy as np
import torch

from .. import insights, insights_view
from ..data import cached, local_folder
from ..preprocess import InputError, preprocess
from ..probe import probe
from ..checkpoints import CheckpointError
from ..registry import Registry, UnknownCheckpoint
from . import say
from .draw_tab import sketch_array


def _warn(e) -> str:
    return f'<p class="cx-sub">⚠️ {html.escape(str(e))}</p>'


def build(registry: Registry, sketch):
    gr.Markdown("## What each neuron looks for\nComputed once per checkpoint over the 10,000 MNIST test "
                "digits and kept beside it, so this works without the dataset.")
    with gr.Row():
        model = gr.Dropdown(registry.names(), value="lenet5", label="Checkpoint", elem_id="ins-model")
        status = gr.Markdown(elem_id="ins-status")
    with gr.Accordion("Top examples and feature visualisation", open=True):
        with gr.Row():
            layer = gr.Dropdown(["C1", "C3", "C5"], value="C3", label="Layer", elem_id="ins-layer")
            channel = gr.Slider(0, 15, 0, step=1, label="Channel", elem_id="ins-channel")
            vis_btn = gr.Button("Visualise this channel", elem_id="ins-vis-go")
        top = gr.HTML(elem_id="ins-top")
        vis = gr.HTML(elem_id="ins-vis")
    with gr.Accordion("Class signatures (with your drawing)", open=False):
        stage = gr.Dropdown([], label="Stage", elem_id="ins-stage")
        sig = gr.HTML(elem_id="ins-sig")
    with gr.Accordion("Embedding of the last hidden layer (PCA), with your drawing", open=False):
        scatter = gr.ScatterPlot(x="x", y="y", color="digit", tooltip=["digit", "test index"], height=420,
                                 color_map=insights_view.EMBED_COLORS, elem_id="ins-embed")
    with gr.Accordion("Errors: the confusion matrix (pick a cell)", open=False):
        conf = gr.Dataframe(interactive=False, elem_id="ins-conf")
        errs = gr.HTML(elem_id="ins-errs")

    def get(name):
        entry = registry.get(name)

        def make():
            try:
                ins = insights.load(entry.ck.path, entry.ck.model) if entry.ck.path else None
            except CheckpointError as e:
                ins, why = None, f"{e} "
            else:
                why = ""
            if ins is None:
                folder = local_folder()
                if folder is None:
                    raise InputError(f"{why}{name} has no usable precomputed insights and no local MNIST copy is "
                                     "set (CNN_DEMO_DATA) to compute them.")
                tx, ty = cached(folder).raw("test"), cached(folder).labels("test")
                ins = insights.compute(entry.ck.model, tx, ty)
            return ins
        return entry.ck.model, entry.cached("insights", make)

    def drawing(value, model_):
        img = sketch_array(value)
        if img is None or not (img < 250).any():
            return None
        try:
            return torch.from_numpy(preprocess(img, paper="light").image)[None, None]
        except InputError:
            return None

    def on_model(name, value):
        try:
            m, ins = get(name)
        except (InputError, UnknownCheckpoint) as e:
            return (say(e),) + (gr.update(),) * 8
        layers = insights.conv_names(m)
        lay = layers[min(1, len(layers) - 1)]
        stages = [k.split("/", 1)[1] for k in ins.arrays if k.startswith("sig/")]
        acc = ins.arrays["confusion"].trace() / ins.arrays["confusion"].sum()
        x = drawing(value, m)
        point = insights.embed_point(ins, m, x) if x is not None else None
        st = stages[0] if stages else None
        return (f"{name}: {acc:.2%} of the test digits right.",
                gr.update(choices=layers, value=lay),
                gr.update(maximum=getattr(m, lay).out_channels - 1, value=0),
                insights_view.top_html(ins, m, lay, 0), "",
                gr.update(choices=stages, value=st),
                insights_view.signatures_html(ins, st, _vec(m, x, st)) if st else "",
                insights_view.embedding_frame(ins, point), insights_view.confusion_frame(ins))

    def on_top(name, lay, ch):
        try:
            m, ins = get(name)
            return insights_view.top_html(ins, m, lay, int(ch)), ""
        except (InputError, UnknownCheckpoint, KeyError, IndexError) as e:
            return _warn(e), ""

    def on_layer(name, lay):
        try:
            m, _ = get(name)
        except (InputError, UnknownCheckpoint) as e:
            return gr.update(), _warn(e)
        return gr.update(maximum=getattr(m, lay).out_channels - 1, value=0), ""

    def on_vis(name, lay, ch):
        try:
            m, ins = get(name)
        except (InputError, UnknownCheckpoint) as e:
            return _warn(e)
        img, a = insights.visualise(m, lay, int(ch))
        return insights_view.visual_html(img, a, float(ins.arrays[f"max/{lay}"][int(ch)]), lay, int(ch))

    def on_stage(name, st, value):
        try:
            m, ins = get(name)
        except (InputError, UnknownCheckpoint) as e:
            return _warn(e)
        return insights_view.signatures_html(ins, st, _vec(m, drawing(value, m), st)) if st else ""

    def on_cell(name, evt: gr.SelectData):
        try:
            _, ins = get(name)
        except (InputError, UnknownCheckpoint) as e:
            return _warn(e)
        r, c = evt.index
        if c == 0:
            return "Pick a number in the table: row = the true digit, column = what the model read."
        return insights_view.errors_html(ins, int(r), int(c) - 1)

    opts = dict(api_visibility="private", show_progress="minimal")
    outs = [status, layer, channel, top, vis, stage, sig, scatter, conf]
    model.change(on_model, [model, sketch], outs, **opts)
    model.focus(lambda: gr.update(choices=registry.names()), None, model, api_visibility="private", queue=False)
    layer.change(on_layer, [model, layer], [channel, vis], **opts)
    channel.change(on_top, [model, layer, channel], [top, vis], **opts)
    vis_btn.click(on_vis, [model, layer, channel], vis, **opts)
    stage.change(on_stage, [model, stage, sketch], sig, **opts)
    conf.select(on_cell, [model], errs, **opts)
    return on_model, [model, sketch], outs


def _vec(m, x, stage):
    if x is None or stage is None:
        return None
    stages, _ = probe(m, x)
    for s in stages:
        if s.name == stage:
            return np.asarray(s.output).reshape(-1)
    return None
