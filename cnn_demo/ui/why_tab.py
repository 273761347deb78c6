"""Why this digit? Attributions, knock-outs, robustness sweeps and nudges on the drawing
from the Draw tab."""
from __future__ import annotations

import gradio as gr

from .. import drawing, explain
from ..data import cached, local_folder
from ..evaluate import gpu_test_accuracy
from ..preprocess import InputError
from ..probe import probabilities
from ..registry import Registry, UnknownCheckpoint
from ..views import explain as explain_view
from ..views.common import warning_html
from . import say
from .shared import Shared, bound

PREDICTION = "the prediction"


def current(registry: Registry, value, choice):
    """(the network's input, the model, the preprocessing) for the drawing and the model
    choice (the first model of a side-by-side choice). InputError for an empty canvas."""
    pre = drawing.prepared(value)
    return pre.image, registry.get(drawing.first_model(choice)).ck.model, pre


def explain_all(registry: Registry, value, choice, cls_v, layer_v, kind_v):
    """Everything the tab shows at once: the sentence, the attribution maps, the layer lists
    and the sweep."""
    try:
        img, m, pre = current(registry, value, choice)
    except (InputError, UnknownCheckpoint) as e:
        return say(e), "", gr.update(), gr.update(), gr.update(), None
    probs = probabilities(m, pre.tensor())[0]
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
            gr.update(choices=list(range(m.channels(layers[0]))), value=[]),
            explain_view.sweep_frame(values, sweep_probs))


def on_ko_layer(registry: Registry, value, choice, layer_v):
    try:
        _, m, _ = current(registry, value, choice)
    except (InputError, UnknownCheckpoint):
        return gr.update()
    return gr.update(choices=list(range(m.channels(layer_v) if layer_v else 0)), value=[])


def knock_out(registry: Registry, value, choice, layer_v, chans):
    """The prediction with some filters zeroed, and (with a local MNIST copy) the test accuracy."""
    try:
        img, m, pre = current(registry, value, choice)
    except (InputError, UnknownCheckpoint) as e:
        return say(e), None
    if not layer_v:
        return "Pick a layer.", None
    chans = [int(c) for c in chans or []]
    ko = explain.knocked_out(m, layer_v, chans)
    p = probabilities(ko, pre.tensor())[0]
    label = {str(d): float(v) for d, v in enumerate(p)}
    msg = f"With {len(chans)} of {layer_v}'s filters zeroed ({', '.join(map(str, chans)) or 'none'})"
    folder = local_folder()
    if folder:
        tx, ty = cached(folder).raw("test"), cached(folder).labels("test")
        entry = registry.get(drawing.first_model(choice))
        intact = entry.cached("intact_accuracy", lambda: gpu_test_accuracy(m, tx, ty))
        msg += f": MNIST test accuracy {gpu_test_accuracy(ko, tx, ty):.2%} (intact: {intact:.2%})."
    else:
        msg += ". (Set CNN_DEMO_DATA to a local MNIST copy to see the test accuracy too.)"
    return msg, label


def on_nudge(registry: Registry, value, choice, target_v):
    try:
        img, m, _ = current(registry, value, choice)
    except (InputError, UnknownCheckpoint) as e:
        return warning_html(e)
    after, delta, steps, p = explain.nudge(m, img, int(target_v))
    return explain_view.nudge_html(img, int(target_v), after, delta, steps, p)


def on_sweep(registry: Registry, value, choice, kind_v):
    try:
        img, m, _ = current(registry, value, choice)
    except (InputError, UnknownCheckpoint):
        return None
    values, probs, _ = explain.sweep(m, img, kind_v)
    return explain_view.sweep_frame(values, probs)


def build(shared: Shared):
    registry, sketch, model = shared.registry, shared.sketch, shared.model
    with gr.Tab("Why this digit?", id="why") as tab:
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
            ko_probs = gr.Label(num_top_classes=10, label="Prediction with those filters off",
                                elem_id="why-ko-probs")
        with gr.Accordion("Robustness: transform the drawing and watch the probabilities", open=True):
            kind = gr.Dropdown(list(explain.SWEEPS), value="rotate (degrees)", label="Transformation",
                               elem_id="why-sweep-kind")
            plot = gr.LinePlot(x="value", y="probability", color="digit", height=300, y_lim=[0, 1],
                               elem_id="why-sweep")
        with gr.Accordion("Nudge: the smallest change that makes it another digit", open=True):
            with gr.Row():
                target = gr.Dropdown([str(d) for d in range(10)], value="1", label="Make it read",
                                     elem_id="why-target")
                nudge_btn = gr.Button("Nudge", elem_id="why-nudge-go")
            nudge_out = gr.HTML(elem_id="why-nudge")

    shared.link("why.cls", cls)
    shared.link("why.sweep", kind)
    shared.link("why.target", target)
    opts = dict(api_visibility="private", show_progress="minimal")
    all_in, all_out = [sketch, model, cls, layer, kind], [status, attr, layer, ko_layer, ko_chans, plot]
    # opening the tab, the button, another class or layer: everything is explained again
    for event in (go.click, tab.select, cls.change, layer.input):
        event(bound(explain_all, registry), all_in, all_out, **opts)
    ko_layer.change(bound(on_ko_layer, registry), [sketch, model, ko_layer], ko_chans, **opts)
    ko_chans.change(bound(knock_out, registry), [sketch, model, ko_layer, ko_chans], [ko_out, ko_probs], **opts)
    kind.change(bound(on_sweep, registry), [sketch, model, kind], plot, **opts)
    nudge_btn.click(bound(on_nudge, registry), [sketch, model, target], nudge_out, **opts)
