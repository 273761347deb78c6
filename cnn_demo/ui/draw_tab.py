"""Draw tab: sketch a digit and watch it travel through the network, live."""
from __future__ import annotations

import random

import gradio as gr
import numpy as np
from PIL import Image

from .. import drawing
from ..analyse import InputError, analyse, classify_file
from ..data import DataError, cached, local_folder
from ..preprocess import read_image, to_canvas
from ..registry import Registry, UnknownCheckpoint
from ..strokes import CANVAS
from ..views.common import checkpoint_filters_html, checkpoint_table_html
from . import refuse, say, unit_panel
from .pad import Pad
from .shared import Shared, bound, latest_only

EXAMPLES = drawing.EXAMPLES
HINT = ("Draw one digit, large, in the middle of the canvas. The network reads it after every "
        "stroke. Use Erase or Undo to fix it; Clear starts again.")


# ---- handlers: plain values in, plain values out (a gr.update() would make Gradio rebuild
# ---- component configs per request, so the per-stroke path returns none)
def on_draw(registry: Registry, value, choice):
    """The five Draw outputs for the canvas's value: two predictions, a status, the input's
    steps and every stage."""
    return outputs_for(registry, drawing.sketch_array(value), choice)


def outputs_for(registry: Registry, img, choice):
    if drawing.is_blank(img):  # the one scan for ink on the per-stroke path
        return None, None, "✏️ " + HINT, "", ""
    names = drawing.model_names(choice)
    try:
        a = analyse(img, [registry.get(n) for n in names])
    except (InputError, UnknownCheckpoint) as e:
        return None, None, say(e), "", ""
    return a.probs[0], a.probs[1] if len(names) > 1 else None, "", a.steps_html, a.stages_html


def on_model(registry: Registry, choice):
    """The learned filters and the layer table of the chosen checkpoint(s)."""
    try:
        entries = [registry.get(n) for n in drawing.model_names(choice)]
    except UnknownCheckpoint as e:
        return say(e), ""
    filters = [checkpoint_filters_html(e) for e in entries]
    tables = [checkpoint_table_html(e) for e in entries]
    if len(entries) == 1:
        return filters[0], tables[0]
    return (f'<div class="cx-compare">{"".join(filters)}</div>', f'<div class="cx-compare">{"".join(tables)}</div>')


def on_model_labels(choice):
    names = drawing.model_names(choice)
    two = len(names) > 1
    return (gr.update(label=names[0] if two else "Prediction"),
            gr.update(visible=two, label=names[1] if two else "Second model"))


def on_canvas(registry: Registry, img, choice):
    """A digit put on the canvas by a button: the canvas shows it and the network reads it at
    once (a value the app sets on the canvas fires no stroke)."""
    return (img,) + tuple(outputs_for(registry, img, choice))


example_canvas = drawing.example
DEMO_SAID = ("👀 Until you draw, the network is reading an example, an MNIST **7** (its steps below): "
             "**draw a digit on the canvas** and everything follows your strokes.")


def demo(registry: Registry) -> tuple:
    """What the Draw tab opens with, the canvas blank: the answer for an example digit and
    everything it shows, and a status saying so and how to draw your own (made once, when the
    page is built: no event to wait for)."""
    if drawing.DEFAULT not in registry.names():
        return None, None, "✏️ " + HINT, "", ""
    out = on_canvas(registry, drawing.example(), drawing.DEFAULT)
    return out[1], out[2], DEMO_SAID, out[4], out[5]


def random_digit(registry: Registry, choice):
    folder = local_folder()
    if folder is None:
        raise refuse("No local MNIST copy: set CNN_DEMO_DATA to a folder with the MNIST files.")
    try:
        x = cached(folder).test_x.numpy()
    except DataError as e:
        raise refuse(str(e))
    img = 255 - x[random.randrange(len(x))]
    img = np.asarray(Image.fromarray(img).resize((CANVAS, CANVAS), Image.Resampling.BILINEAR))
    return on_canvas(registry, img, choice)


def example_digit(registry: Registry, index, choice):
    if not isinstance(index, int) or not 0 <= index < len(EXAMPLES):
        raise refuse("There is no such example digit.")
    return on_canvas(registry, np.asarray(Image.open(EXAMPLES[int(index)]).convert("L")), choice)


def upload_to_canvas(registry: Registry, path, choice):
    if not path or not isinstance(path, str):
        raise refuse("Choose an image file first.")
    try:
        return on_canvas(registry, to_canvas(read_image(path)), choice)
    except InputError as e:
        raise refuse(str(e))


def classify(registry: Registry, image, model):
    """Classify an image file of one digit with a checkpoint the app knows.

    Returns {"0": p0, ..., "9": p9}: the probability of every digit."""
    if not image or not isinstance(image, str):
        raise refuse("No image: send an image file of one digit.")
    if model is not None and not isinstance(model, str):
        raise refuse("The model must be a checkpoint's name (text).")
    try:
        return classify_file(image, registry.get((model or drawing.DEFAULT).strip()))
    except (InputError, UnknownCheckpoint) as e:
        raise refuse(str(e))


def build(shared: Shared):
    registry = shared.registry
    with gr.Tab("Draw", id="draw"):
        with gr.Row(equal_height=False, elem_classes=["cx-drawrow"]):  # on a phone: canvas, then its answer
            with gr.Column(scale=4, min_width=340, elem_classes=["cx-drawcol"]):
                start = demo(registry)
                sketch = Pad(elem_id="sketchpad")
                gr.Markdown(HINT, elem_classes=["cx-hint"])
                choices = drawing.model_choices(registry)
                model = gr.Dropdown(choices, value=choices[0][1] if choices else None, label="Model",
                                    elem_id="model", interactive=True)
                with gr.Row(elem_classes=["cx-randrow"]):
                    rand_btn = gr.Button("Random MNIST test digit", visible=local_folder() is not None, size="sm",
                                         elem_id="random-digit")
                digits = gr.Dataset(components=[gr.Image(render=False, type="filepath")],
                                    samples=[[str(p)] for p in EXAMPLES], type="index", samples_per_page=10,
                                    label="Or start from an MNIST test digit", elem_id="digits")
            with gr.Column(scale=5, min_width=420, elem_classes=["cx-drawcol"]):
                status = gr.Markdown(start[2], elem_id="draw-status")
                with gr.Row(elem_classes=["cx-preds"]):
                    pred = gr.Label(start[0], num_top_classes=10, label="Prediction", elem_id="prediction")
                    pred2 = gr.Label(num_top_classes=10, label="Second model", visible=False, elem_id="prediction2")
                steps = gr.HTML(start[3], label="What the network sees", elem_id="steps")
        gr.Markdown("## Inside the network, left to right\n"
                    "Each square is a *feature map*: where one filter found its pattern in the maps before it "
                    "(the lines show which maps feed which). Blue–white–red maps hold negative and positive values "
                    "(white = 0), dark-to-yellow ones values ≥ 0; C5, F6 and OUTPUT are single numbers, one cell "
                    "each. **Click any map or cell to see how one of its numbers was computed.**",
                    elem_classes=["cx-flowhint"])
        stages = gr.HTML(start[4], elem_id="stages")
        shared.sketch, shared.model = sketch, model
        unit_panel.build(shared)
        with gr.Accordion("Learned filters (the weights, the same for every drawing)", open=False):
            gr.Markdown("Convolution in a CNN is really *cross-correlation*: each kernel is slid over the input "
                        "without flipping, and at every position the products of kernel and input are summed.")
            filters = gr.HTML(elem_id="filters")
        with gr.Accordion("Layer table: shapes, parameters and arithmetic", open=False):
            table = gr.HTML(elem_id="layer-table")
        with gr.Accordion("Classify an image file (this is also the /classify API)", open=False):
            gr.Markdown("Upload a picture of one digit: dark ink on light paper, light on dark, or ink on "
                        "transparency; any size. It goes through exactly the preprocessing the canvas uses.")
            with gr.Row():
                up_file = gr.File(label="Image file", file_types=["image"], type="filepath", elem_id="upload")
                up_model = gr.Textbox(value=drawing.DEFAULT, label="Checkpoint name", elem_id="upload-model")
            with gr.Row():
                up_btn = gr.Button("Classify", size="sm", elem_id="upload-classify")
                up_canvas = gr.Button("Put it on the canvas", size="sm", elem_id="upload-to-canvas")
            up_out = gr.JSON(label="Probabilities", elem_id="upload-probs")

    quiet = dict(show_progress="hidden", api_visibility="private")
    draw_outputs = [pred, pred2, status, steps, stages]
    shared.parts["draw"] = [sketch] + draw_outputs
    # one event whether the stroke or the checkpoint changed: the page then holds the next change
    # back until the answer is in, so an older answer can never land after a newer one
    gr.on([sketch.stroke, model.change], latest_only(bound(on_draw, registry), 5), [sketch, model], draw_outputs,
          trigger_mode="always_last", show_progress="hidden", api_name="draw", concurrency_limit=None)
    gr.on([shared.demo.load, model.change], bound(on_model, registry), [model], [filters, table],
          trigger_mode="always_last", **quiet)
    model.change(on_model_labels, [model], [pred, pred2], **quiet)
    # checkpoints trained or loaded in other sessions appear when the list is opened
    model.focus(lambda: gr.update(choices=drawing.model_choices(registry)), None, model, queue=False, **quiet)
    # a second digit chosen while the first is still being read is read next, not dropped
    rand_btn.click(bound(random_digit, registry), [model], [sketch] + draw_outputs, trigger_mode="always_last", **quiet)
    digits.click(bound(example_digit, registry), [digits, model], [sketch] + draw_outputs, trigger_mode="always_last",
                 **quiet)
    up_canvas.click(bound(upload_to_canvas, registry), [up_file, model], [sketch] + draw_outputs,
                    api_visibility="private")
    up_btn.click(bound(classify, registry), [up_file, up_model], up_out, api_name="classify", concurrency_limit=4,
                 concurrency_id="classify")
