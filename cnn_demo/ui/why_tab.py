"""Why this digit? Attributions, knock-outs, robustness sweeps and nudges on the drawing
from the Draw tab."""
from __future__ import annotations

import threading
from collections import OrderedDict

import gradio as gr
import numpy as np
import torch

from .. import drawing, explain
from ..data import cached, local_folder
from ..evaluate import accuracy
from ..preprocess import InputError
from ..probe import probabilities
from ..registry import Registry, UnknownCheckpoint
from ..views import explain as explain_view
from ..views.common import warning_html
from . import moved, say
from .shared import Shared, bound

PREDICTION = "the prediction"
CLASSES = [PREDICTION] + [str(d) for d in range(10)]
SWEEP = "rotate (degrees)"


def current(registry: Registry, value, choice):
    """(the network's input, the model, the preprocessing) for the drawing and the model
    choice (the first model of a side-by-side choice). InputError for an empty canvas."""
    pre = drawing.prepared(value)
    return pre.image, registry.get(drawing.first_model(choice)).ck.model, pre


def knockable(m) -> list[str]:
    """The layers whose filters can be knocked out: the first two conv layers, whose filters
    are few enough to pick by hand and each matter on their own."""
    return explain.conv_layers(m)[:2]


def explain_all(registry: Registry, value, choice, cls_v, layer_v, kind_v, ko_layer_v=None, ko_v=None,
                echo: bool = True):
    """Everything the tab shows at once: the sentence, the attribution maps, the layer lists,
    the sweep and the knock-out. The Grad-CAM layer and the filters knocked out are kept where
    the model has them (coming back to the tab, another class, a link that names them).
    Without `echo`, a picker's value is sent back only where it had to change (on_explain)."""
    try:
        img, m, pre = current(registry, value, choice)
    except (InputError, UnknownCheckpoint) as e:
        return say(e), "", gr.update(), gr.update(), gr.update(), None, "", None, gr.update()
    probs = probabilities(m, pre.tensor())[0]
    pred = int(probs.argmax())
    c = pred if cls_v in (None, PREDICTION) else int(cls_v)
    versus = None if c == pred else pred
    layers = explain.conv_layers(m)
    lay = layer_v if layer_v in layers else explain.cam_layer(m)
    ko_layers = knockable(m)
    ko_lay = ko_layer_v if ko_layer_v in ko_layers else ko_layers[0]
    n = m.channels(ko_lay)
    chans = sorted({int(c) for c in ko_v or [] if isinstance(c, (int, str)) and str(c).isdigit() and int(c) < n})
    values, sweep_probs, _ = explain.sweep(m, img, kind_v)
    msg = f"The model reads **{pred}** ({probs[pred]:.0%})." + (
        f" Explaining why **{c}** and not {pred}." if versus is not None else "")
    ko_msg, ko_label = knock_out(registry, value, choice, ko_lay, chans) if chans else ("", None)
    held = (None, None, None) if echo else (layer_v, ko_layer_v, ko_v)  # a link's pickers hold none yet
    return (msg, explain_view.attributions_html(m, img, c, versus, lay, pre),
            moved(lay, held[0], choices=layers), moved(ko_lay, held[1], choices=ko_layers),
            moved(chans, held[2], choices=list(range(n))),
            explain_view.sweep_frame(values, sweep_probs), ko_msg, ko_label, chans)


def on_explain(registry: Registry, value, choice, cls_v, layer_v, kind_v, ko_layer_v=None, ko_v=None):
    """The tab opened, the button, another class or layer: everything explained again, the
    pickers left as the learner has them where the model has those. An answer sent back every
    value: one landing after a newer pick put the old layer back, and the pick waiting behind it
    then ran with that old layer (the page sends the controls as they are when it runs)."""
    return explain_all(registry, value, choice, cls_v, layer_v, kind_v, ko_layer_v, ko_v, echo=False)


def restore(registry: Registry, given: dict, value, choice) -> tuple:
    """A link's or lesson's view of this tab: everything explained with the class,
    transformation, Grad-CAM layer and knocked-out filters it names (where they exist here)."""
    cls_v = given.get("why.cls") if given.get("why.cls") in CLASSES else PREDICTION
    kind_v = given.get("why.sweep") if given.get("why.sweep") in explain.SWEEPS else SWEEP
    ko = given.get("why.ko")
    return explain_all(registry, value, choice, cls_v, given.get("why.layer"), kind_v, given.get("why.ko.layer"),
                       ko[:64] if isinstance(ko, list) else None)


def on_ko_layer(registry: Registry, value, choice, layer_v):
    """Another layer to knock filters out of: its filters, none of them zeroed yet."""
    try:
        _, m, _ = current(registry, value, choice)
    except (InputError, UnknownCheckpoint):
        return gr.update(), "", None, []
    n = m.channels(layer_v) if layer_v in knockable(m) else 0
    return gr.update(choices=list(range(n)), value=[]), "" if n else "Pick a layer.", None, []


_ACCURACIES: OrderedDict = OrderedDict()  # (checkpoint, layer, filters zeroed) → MNIST test accuracy
_ACCURACIES_LOCK = threading.Lock()
ACCURACIES_KEPT = 512


def accuracy_of(key: tuple, compute) -> float:
    """A knocked-out network's accuracy on the 10,000 test digits, worked out once per checkpoint
    and set of filters (a checkpoint's name always means the same weights): a class following a
    lesson asks for the same knock-outs. It runs on the CPU on every kind of hardware — ~0.3 s for
    LeNet-5, ~2 s for the 32/64 TinyCNN on two cores (BENCHMARKS.md) — which a ZeroGPU task would
    not beat once it had waited for its GPU, and would charge to the visitor's quota."""
    with _ACCURACIES_LOCK:
        if key in _ACCURACIES:
            _ACCURACIES.move_to_end(key)
            return _ACCURACIES[key]
    value = compute()  # outside the lock: other knock-outs need not wait for this one
    with _ACCURACIES_LOCK:
        _ACCURACIES[key] = value
        while len(_ACCURACIES) > ACCURACIES_KEPT:
            _ACCURACIES.popitem(last=False)
    return value


def knock_out(registry: Registry, value, choice, layer_v, chans, measure: bool = True):
    """The prediction with some filters zeroed, and (with a local MNIST copy) the test accuracy —
    or, without `measure`, a word that it is being measured (`knock_out_at_once`)."""
    try:
        img, m, pre = current(registry, value, choice)
    except (InputError, UnknownCheckpoint) as e:
        return say(e), None
    if layer_v not in knockable(m):
        return "Pick a layer.", None
    chans = [int(c) for c in chans or [] if 0 <= int(c) < m.channels(layer_v)]
    ko = explain.knocked_out(m, layer_v, chans)
    p = probabilities(ko, pre.tensor())[0]
    label = {str(d): float(v) for d, v in enumerate(p)}
    msg = f"With {len(chans)} of {layer_v}'s filters zeroed ({', '.join(map(str, chans)) or 'none'})"
    folder = local_folder()
    if folder and not measure:
        msg += ": measuring the MNIST test accuracy of what is left (10,000 digits)…"
    elif folder:
        tx, ty = cached(folder).raw("test"), cached(folder).labels("test")
        name = drawing.first_model(choice)
        intact = accuracy_of((name, None, ()), lambda: accuracy(m, tx, ty))
        now = accuracy_of((name, layer_v, tuple(sorted(set(chans)))), lambda: accuracy(ko, tx, ty))
        msg += f": MNIST test accuracy {now:.2%} (intact: {intact:.2%})."
    else:
        msg += ". (Set CNN_DEMO_DATA to a local MNIST copy to see the test accuracy too.)"
    return msg, label


def knock_out_at_once(registry: Registry, value, choice, layer_v, chans):
    """A click on a filter: the knocked-out network's answer at once; its test accuracy follows
    (`knock_out_accuracy`), since 10,000 digits take the CPU a moment (BENCHMARKS.md)."""
    return knock_out(registry, value, choice, layer_v, chans, measure=False)


def knock_out_accuracy(registry: Registry, value, choice, layer_v, chans) -> str:
    return knock_out(registry, value, choice, layer_v, chans)[0]


def on_nudge(registry: Registry, value, choice, target_v):
    """The drawing nudged towards a digit: every caption from the model's own probabilities on
    the picture it captions, the target reached or not."""
    try:
        img, m, pre = current(registry, value, choice)
    except (InputError, UnknownCheckpoint) as e:
        return warning_html(e)
    if str(target_v) not in CLASSES[1:]:
        return warning_html("Pick a digit from 0 to 9 to nudge the drawing towards.")
    target = int(target_v)
    before = probabilities(m, pre.tensor())[0]
    if int(before.argmax()) == target:
        return explain_view.nudge_already(target, before)
    after, _, steps, _ = explain.nudge(m, img, target)
    # the picture shown is 8-bit: the model reads exactly that picture, so its captions are true of it
    after = (np.floor(np.clip(after, 0, 1) * 255 + 0.5) / 255).astype(np.float32)
    now = probabilities(m, torch.from_numpy(after)[None, None])[0]
    return explain_view.nudge_html(img, target, after, after - img, steps, before, now)


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
            cls = gr.Dropdown(CLASSES, value=PREDICTION, label="Explain",
                              elem_id="why-class")
            layer = gr.Dropdown([], label="Grad-CAM layer", elem_id="why-layer", allow_custom_value=True)
            go = gr.Button("Explain my drawing", variant="primary", elem_id="why-go")
        status = gr.Markdown(elem_id="why-status")
        attr = gr.HTML(elem_id="why-attr")
        with gr.Accordion("Knock out filters", open=True):
            with gr.Row():
                ko_layer = gr.Dropdown([], label="Layer", elem_id="why-ko-layer", allow_custom_value=True)
                ko_chans = gr.CheckboxGroup([], label="Filters to zero", elem_id="why-ko-filters")
            ko_out = gr.Markdown(elem_id="why-ko")
            ko_probs = gr.Label(num_top_classes=10, label="Prediction with those filters off",
                                elem_id="why-ko-probs")
            ko_kept = gr.State([])  # the filters zeroed, as last applied (see below)
        with gr.Accordion("Robustness: transform the drawing and watch the probabilities", open=True):
            kind = gr.Dropdown(list(explain.SWEEPS), value=SWEEP, label="Transformation",
                               elem_id="why-sweep-kind")
            plot = gr.LinePlot(x="value", y="probability", color="digit", height=300, y_lim=[0, 1],
                               elem_id="why-sweep")
        with gr.Accordion("Nudge: a small change towards another digit", open=True):
            with gr.Row():
                target = gr.Dropdown([str(d) for d in range(10)], value="1", label="Make it read",
                                     elem_id="why-target")
                nudge_btn = gr.Button("Nudge", elem_id="why-nudge-go")
            nudge_out = gr.HTML(elem_id="why-nudge")

    shared.link("why.cls", cls)
    shared.link("why.sweep", kind)
    shared.link("why.target", target)
    opts = dict(api_visibility="private", show_progress="minimal")
    # the layer lists follow the model, and a request sent just before they change still carries
    # the old pick: the handlers check layers themselves (allow_custom_value), and the filters to
    # keep are read from `ko_kept`, not from the checkboxes, whose choices Gradio would check
    all_in = [sketch, model, cls, layer, kind, ko_layer, ko_kept]
    all_out = [status, attr, layer, ko_layer, ko_chans, plot, ko_out, ko_probs, ko_kept]
    shared.restorable("why", bound(restore, registry), {
        "why.layer": layer, "why.ko.layer": ko_layer, "why.ko": ko_chans}, all_out)
    # opening the tab (a link selecting it too), the button, another class or layer: everything
    # is explained again, keeping the layers and filters picked before where the model has them.
    # The learner's picks are `input`s: a `change` would also follow a link setting the class,
    # and read the other controls from before the link's values arrived
    gr.on([go.click, tab.select, cls.input, layer.input], bound(on_explain, registry), all_in, all_out,
          trigger_mode="always_last", **opts)
    ko_layer.input(bound(on_ko_layer, registry), [sketch, model, ko_layer], [ko_chans, ko_out, ko_probs, ko_kept],
                   **opts)
    # a click on a filter: the answer at once, then the 10,000-digit accuracy, which takes the CPU
    # a moment — one at a time, in a line of their own, so they never hold up the strokes (whose
    # event has no limit) or the other explanations, and land in the order they were asked
    ko_in = [sketch, model, ko_layer, ko_chans]
    ko_chans.input(bound(knock_out_at_once, registry), ko_in, [ko_out, ko_probs], trigger_mode="always_last",
                   **opts) \
        .then(lambda chans: chans, ko_chans, ko_kept, api_visibility="private", queue=False) \
        .then(bound(knock_out_accuracy, registry), ko_in, ko_out, concurrency_limit=1, concurrency_id="knock-out",
              **opts)
    kind.input(bound(on_sweep, registry), [sketch, model, kind], plot, **opts)
    nudge_btn.click(bound(on_nudge, registry), [sketch, model, target], nudge_out, **opts)
