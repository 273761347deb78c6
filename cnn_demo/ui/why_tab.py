"""Why this digit? Attributions, knock-outs, robustness sweeps and nudges on the drawing
from the Draw tab."""
from __future__ import annotations

import html

import gradio as gr
import numpy as np
import spaces

from .. import explain, explain_view
from ..data import cached, local_folder
from ..evaluate import accuracy
from ..preprocess import InputError, preprocess
from ..probe import probabilities
from ..registry import Registry, UnknownCheckpoint
from ..train import default_device
from . import say
from .draw_tab import sketch_array

PREDICTION = "the prediction"


@spaces.GPU(duration=20)
def gpu_test_accuracy(model, x, y) -> float:
    """Test accuracy on the GPU when there is one (ZeroGPU or CUDA), else on the CPU: the one heavy
    inference of this tab (10,000 digits). Takes a copy of the model (it is moved); returns a float,
    so nothing on CUDA leaves the function."""
    device = default_device()
    return accuracy(model.to(device), x.to(device), y.to(device))


def build(registry: Registry, sketch, model, tab=None):
    gr.Markdown("## Why this digit?\nDraw on the **Draw** tab; this tab explains what the chosen model "
                "reads in that drawing. Pick a class to ask *why this digit* (the prediction) or "
                "*why not k* (any other digit, compared with the prediction).")
    with gr.Row():
        cls = gr.Dropdown([PREDICTION] + [str(d) for d in range(10)], value=PREDICTION, label="Explain",
                          elem_id="why-class")
        layer = gr.Dropdown([], label="Grad-CAM layer", elem_id="why-layer")
        go = gr.Button("Explain my drawing", variant="primary", elem_id="why-go")
    status = gr.Markdown(elem_id="why-status")
    attr = gr.HTML(elem_id="why-attr")
    with gr.Accordion("Knock out filters", open=True):
        with gr.Row():
            ko_layer = gr.Dropdown([], label="Layer", elem_id="why-ko-layer")
            ko_chans = gr.CheckboxGroup([], label="Filters to zero", elem_id="why-ko-filters")
        ko_out = gr.Markdown(elem_id="why-ko")
        ko_probs = gr.Label(num_top_classes=10, label="Prediction with those filters off", elem_id="why-ko-probs")
    with gr.Accordion("Robustness: transform the drawing and watch the probabilities", open=True):
        kind = gr.Dropdown(list(explain.SWEEPS), value="rotate (degrees)", label="Transformation", elem_id="why-sweep-kind")
        plot = gr.LinePlot(x="value", y="probability", color="digit", height=300, y_lim=[0, 1],
                           elem_id="why-sweep")
    with gr.Accordion("Nudge: the smallest change that makes it another digit", open=True):
        with gr.Row():
            target = gr.Dropdown([str(d) for d in range(10)], value="1", label="Make it read", elem_id="why-target")
            nudge_btn = gr.Button("Nudge", elem_id="why-nudge-go")
        nudge_out = gr.HTML(elem_id="why-nudge")

    def current(value, choice):
        img = sketch_array(value)
        if img is None or not (img < 250).any():
            raise InputError("Draw a digit on the Draw tab first.")
        name = (choice or "lenet5").split("+")[0]
        entry = registry.get(name)
        pre = preprocess(img, paper="light")
        return pre.image, entry.ck.model, pre

    def explain_all(value, choice, cls_v, layer_v, kind_v):
        try:
            img, m, pre = current(value, choice)
        except (InputError, UnknownCheckpoint) as e:
            return say(e), "", gr.update(), gr.update(), gr.update(), None
        probs = probabilities(m, _tensor(img))[0]
        pred = int(probs.argmax())
        c = pred if cls_v in (None, PREDICTION) else int(cls_v)
        versus = None if c == pred else pred
        layers = explain.conv_layers(m)
        lay = layer_v if layer_v in layers else explain.cam_layer(m)
        values, sweep_probs, _ = explain.sweep(m, img, kind_v)
        msg = f"The model reads **{pred}** ({probs[pred]:.0%})." + (
            f" Explaining why **{c}** and not {pred}." if versus is not None else "")
        return (msg, explain_view.attributions_html(m, img, c, versus, lay, pre),
                gr.update(choices=layers, value=lay), gr.update(choices=layers[:2], value=layers[0]),
                gr.update(choices=list(range(getattr(m, layers[0]).out_channels)), value=[]),
                explain_view.sweep_frame(values, sweep_probs))

    def on_ko_layer(value, choice, layer_v):
        try:
            _, m, _ = current(value, choice)
        except (InputError, UnknownCheckpoint):
            return gr.update()
        n = getattr(m, layer_v).out_channels if layer_v else 0
        return gr.update(choices=list(range(n)), value=[])

    def knock_out(value, choice, layer_v, chans):
        try:
            img, m, pre = current(value, choice)
        except (InputError, UnknownCheckpoint) as e:
            return say(e), None
        if not layer_v:
            return "Pick a layer.", None
        chans = [int(c) for c in chans or []]
        ko = explain.knocked_out(m, layer_v, chans)
        p = probabilities(ko, _tensor(img))[0]
        label = {str(d): float(v) for d, v in enumerate(p)}
        msg = f"With {len(chans)} of {layer_v}'s filters zeroed ({', '.join(map(str, chans)) or 'none'})"
        folder = local_folder()
        if folder:
            tx, ty = cached(folder).raw("test"), cached(folder).labels("test")
            entry = registry.get((choice or "lenet5").split("+")[0])
            intact = entry.cached("intact_accuracy",
                                  lambda: gpu_test_accuracy(explain.knocked_out(m, layer_v, []), tx, ty))
            msg += f": MNIST test accuracy {gpu_test_accuracy(ko, tx, ty):.2%} (intact: {intact:.2%})."
        else:
            msg += ". (Set CNN_DEMO_DATA to a local MNIST copy to see the test accuracy too.)"
        return msg, label

    def on_nudge(value, choice, target_v):
        try:
            img, m, pre = current(value, choice)
        except (InputError, UnknownCheckpoint) as e:
            return f'<p class="cx-sub">⚠️ {html.escape(str(e))}</p>'
        after, delta, steps, p = explain.nudge(m, img, int(target_v))
        return explain_view.nudge_html(img, int(target_v), after, delta, steps, p)

    def on_sweep(value, choice, kind_v):
        try:
            img, m, pre = current(value, choice)
        except (InputError, UnknownCheckpoint):
            return None
        values, probs, _ = explain.sweep(m, img, kind_v)
        return explain_view.sweep_frame(values, probs)

    opts = dict(api_visibility="private", show_progress="minimal")
    go.click(explain_all, [sketch, model, cls, layer, kind], [status, attr, layer, ko_layer, ko_chans, plot], **opts)
    if tab is not None:  # opening the tab explains the drawing as it is now
        tab.select(explain_all, [sketch, model, cls, layer, kind], [status, attr, layer, ko_layer, ko_chans, plot],
                   **opts)
    cls.change(explain_all, [sketch, model, cls, layer, kind], [status, attr, layer, ko_layer, ko_chans, plot], **opts)
    layer.input(explain_all, [sketch, model, cls, layer, kind], [status, attr, layer, ko_layer, ko_chans, plot],
                **opts)
    ko_layer.change(on_ko_layer, [sketch, model, ko_layer], ko_chans, **opts)
    ko_chans.change(knock_out, [sketch, model, ko_layer, ko_chans], [ko_out, ko_probs], **opts)
    kind.change(on_sweep, [sketch, model, kind], plot, **opts)
    nudge_btn.click(on_nudge, [sketch, model, target], nudge_out, **opts)


def _tensor(img):
    import torch
    return torch.from_numpy(np.asarray(img, np.float32))[None, None]
