"""Convolution playground: hand-made kernels, padding, stride, dilation, activation and
pooling on any image, step by step on a tiny one; RGB banks; the /convolve API."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

from .. import drawing
from .. import playground as pg
from ..limits import PLAYGROUND_SIDE
from ..preprocess import InputError, read_image
from ..sample_images import examples, to_array
from ..views import playground as pv
from ..views.common import warning_html
from . import refuse, say
from .shared import Shared, latest_only

DRAWING = "My drawing (from the Draw tab)"
UPLOAD = "My upload"
CUSTOM = "Custom (the grid)"
DEFAULT_GRID = [["1", "0", "-1"], ["2", "0", "-2"], ["1", "0", "-1"]]
EXAMPLES = examples()


def grid_value(rows) -> list[list]:
    """The table's value as rows of cells (a DataFrame or lists, as Gradio gives it)."""
    if rows is None:
        return []
    if hasattr(rows, "values"):
        rows = rows.values.tolist()
    return [list(r) for r in rows]


def load_source(name, file, sketch):
    """The input as an array, and a note (or a message when there is none)."""
    if name == UPLOAD:
        if not file:
            return None, "⬆️ Upload an image."
        try:
            img, shrunk = _read_upload(file)
        except InputError as e:
            return None, say(e)
        return img, " (downscaled to 512 px on its longer side to stay fast)" if shrunk else ""
    if name == DRAWING:
        a = drawing.drawn(sketch)
        if a is None:
            return None, "✏️ " + drawing.EMPTY
        img = Image.fromarray(255 - a.astype(np.uint8)).resize((112, 112), Image.Resampling.BOX)
        return np.asarray(img, np.float32) / 255, ""
    return EXAMPLES.get(name), ""


def with_custom(names):
    """An edit of the grid means its kernel is wanted: "Custom (the grid)" joins the chosen
    kernels, so the edit shows at once (the kernel view says what "custom" is)."""
    names = [n for n in names or [] if isinstance(n, str)] if isinstance(names, list) else []
    return gr.skip() if CUSTOM in names else names + [CUSTOM]


def settings(names, cells, *rest) -> pv.Settings:
    return pv.settings(names, grid_value(cells), *rest, custom=CUSTOM)


def on_change(name, file, sketch, *params):
    """Everything the playground shows for its input and settings (the upload box shown only
    for an upload)."""
    img, note = load_source(name, file, sketch)
    up = gr.update(visible=name == UPLOAD)
    if img is None:
        return up, note or "Choose an input image.", "", "", "", "", gr.update(), gr.update()
    try:
        s = settings(*params)
        view = pv.chain_html(img, s, note)
        kv = pv.kernel_html(s.kernels, s.names)
        walk_html, n, pwalk_html, pn = pv.step_views(img, s, 0, 0)
    except pg.PlaygroundError as e:
        return up, say(e), "", "", "", "", gr.update(), gr.update()
    # a slider needs maximum > minimum: a single position still gets a (disabled) slider
    return (up, "", kv, view, walk_html, pwalk_html, gr.update(maximum=max(n, 2), value=1, interactive=n > 1),
            gr.update(maximum=max(pn, 2), value=1, interactive=pn > 1))


def on_step(name, file, sketch, i, j, *params):
    img, _ = load_source(name, file, sketch)
    if img is None:
        return "", ""
    try:
        w, _, p, _ = pv.step_views(img, settings(*params), int(i) - 1, int(j) - 1)
    except pg.PlaygroundError as e:
        return warning_html(e), ""
    return w, p


def on_colour(name, file, sketch, seed, *params):
    img, _ = load_source(name, file, sketch)
    if img is None:
        return ""
    try:
        return pv.colour_html(img, int(seed), settings(*params))
    except pg.PlaygroundError as e:
        return warning_html(e)


def quiz_context(name, file, sketch, seed, *params) -> tuple:
    """The playground as a lesson's question sees it: (its image, its settings as
    playground.chain takes them, the colour layer's seed); no image or settings it cannot use: empty."""
    img, _ = load_source(name, file, sketch)
    try:
        s = settings(*params)
    except pg.PlaygroundError:
        return img, {}, int(seed or 0)
    return img, {"kernels": s.kernels, "padding": s.padding, "stride": s.stride, "dilation": s.dilation,
                 "padding_mode": s.padding_mode, "activation": s.activation, "slope": s.slope,
                 "pooling": s.pooling, "pool_kernel": s.pool_kernel, "pool_stride": s.pool_stride}, int(seed or 0)


def build(shared: Shared):
    sources = list(EXAMPLES) + [DRAWING, UPLOAD]
    with gr.Tab("Convolution playground", id="playground") as tab:
        gr.Markdown("## Convolution playground\nPick an image and one or more kernels (or type your own), then "
                    "padding, stride, an activation and pooling: every map below is recomputed as you change them.")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=320):
                source = gr.Dropdown(sources, value="Photo: cameraman (grayscale)", label="Input image",
                                     elem_id="pg-source")
                upload = gr.File(label="Upload an image (PNG, JPEG, …)", file_types=["image"], type="filepath",
                                 visible=False, elem_id="pg-upload")
                presets = gr.Dropdown(list(pg.PRESETS) + [CUSTOM], value=["Sobel x"], multiselect=True,
                                      label="Kernels (several → several output channels)", elem_id="pg-kernels")
                grid = gr.Dataframe(value=DEFAULT_GRID, headers=None, interactive=True, column_count=(3, "dynamic"),
                                    row_count=(3, "dynamic"), datatype="str", label="Custom kernel: type numbers "
                                    "and it joins the kernels (1×1 up to 11×11; a cell's ⋮ menu adds rows and "
                                    "columns)", elem_id="pg-grid")
                with gr.Row():
                    padding = gr.Dropdown(["same", "valid", "0", "1", "2", "3"], value="same", allow_custom_value=True,
                                          label="Padding", elem_id="pg-padding")
                    mode = gr.Dropdown(list(pg.PADDING_MODES), value="zeros", label="Padding mode", elem_id="pg-mode")
                with gr.Row():
                    stride = gr.Number(1, precision=0, minimum=1, maximum=64, label="Stride", elem_id="pg-stride")
                    dilation = gr.Number(1, precision=0, minimum=1, maximum=16, label="Dilation", elem_id="pg-dilation")
                with gr.Row():
                    act = gr.Radio(list(pg.ACTIVATIONS), value="none", label="Activation", elem_id="pg-act")
                    slope = gr.Slider(0, 1, 0.1, step=0.01, label="LeakyReLU slope", elem_id="pg-slope")
                with gr.Row():
                    pool = gr.Radio(list(pg.POOLINGS), value="none", label="Pooling", elem_id="pg-pool")
                    pk = gr.Number(2, precision=0, minimum=1, maximum=32, label="Pool size", elem_id="pg-pool-size")
                    ps = gr.Number(2, precision=0, minimum=1, maximum=32, label="Pool stride", elem_id="pg-pool-stride")
            with gr.Column(scale=2, min_width=480):
                status = gr.Markdown("", elem_id="pg-status")
                kernels_view = gr.HTML(elem_id="pg-kernel-view")
                out = gr.HTML(elem_id="pg-output")
        with gr.Accordion("Step by step (on a tiny image)", open=True, elem_id="pg-steps") as steps_box:
            gr.Markdown("Pick **Tiny 6×6 squares** or **Tiny 8×8 squares** as the input (any image up to "
                        f"{pv.SMALL}×{pv.SMALL} works). The first kernel walks over it one position at a time.")
            with gr.Row():
                step = gr.Slider(1, 36, 1, step=1, label="Kernel position", elem_id="pg-step")
                pstep = gr.Slider(1, 9, 1, step=1, label="Pooling window (uses the pooling settings; max if none)",
                                  elem_id="pg-pool-step")
            walk = gr.HTML(elem_id="pg-walk")
            pwalk = gr.HTML(elem_id="pg-pool-walk")
        with gr.Accordion("Colour: channels, a 3×3×3 bank, a random Conv2d(3 → 8)", open=False,
                          elem_id="pg-colour-box") as colour_box:
            seed = gr.Slider(0, 99, 0, step=1, label="Seed of the random layer", elem_id="pg-seed")
            colour = gr.HTML(elem_id="pg-colour")

    for key, comp in (("pg.src", source), ("pg.k", presets), ("pg.grid", grid), ("pg.pad", padding), ("pg.mode", mode),
                      ("pg.stride", stride), ("pg.dil", dilation), ("pg.act", act), ("pg.slope", slope),
                      ("pg.pool", pool), ("pg.pk", pk), ("pg.ps", ps), ("pg.seed", seed)):
        # (the step-by-step positions are not linked: their range follows the image, set after it)
        shared.link(key, comp)
    shared.openable("pg.steps", steps_box)
    shared.openable("pg.colour", colour_box)
    src = [source, upload, shared.sketch]
    params = [presets, grid, padding, mode, stride, dilation, act, slope, pool, pk, ps]
    shared.parts["playground"] = (src + [seed] + params, quiz_context)  # what a lesson's question reads
    outs = [upload, status, kernels_view, out, walk, pwalk, step, pstep]
    # one event per view, whatever control moved: while it runs, the page holds the next
    # change back and sends the controls as they are once it ends. One event per control would
    # race: two quick changes run side by side and the slower, older answer is shown last
    trig = dict(show_progress="hidden", api_visibility="private", trigger_mode="always_last")
    demo = shared.demo
    gr.on([demo.load] + [c.change for c in [source, upload] + params], latest_only(on_change, len(outs)),
          src + params, outs, **trig)
    # the learner's own edit (not a link filling the grid in): the grid joins the kernels, and
    # the kernels' change shows it
    grid.input(with_custom, presets, presets, api_visibility="private", queue=False, show_progress="hidden")
    gr.on([step.change, pstep.change], latest_only(on_step, 2), src + [step, pstep] + params, [walk, pwalk], **trig)
    gr.on([demo.load] + [c.change for c in (seed, source, upload)], latest_only(on_colour, 1),
          src + [seed] + params, colour, **trig)
    with tab:  # an API endpoint is a component: it must sit in a tab, not between tabs
        gr.api(convolve_api, api_name="convolve", concurrency_limit=2, concurrency_id="convolve")


@lru_cache(maxsize=8)
def _read_upload(path: str):
    """Uploads live at unique paths in Gradio's cache, so a path names one image. Gone (the
    upload folder is cleaned after an hour): a sentence."""
    if not Path(path).is_file():
        raise InputError("That upload is no longer on the server (uploads are kept for an hour): upload it again.")
    return to_array(read_image(path, colour=True), max_side=PLAYGROUND_SIDE)


def convolve_api(image: gr.FileData, kernels: list, padding: str | int = "same", stride: int = 1,
                 dilation: int = 1, padding_mode: str = "zeros", activation: str = "none", slope: float = 0.01,
                 pooling: str = "none", pool_kernel: int = 2, pool_stride: int = 2) -> dict:
    """Convolve an image file with kernels, then activate and pool, as the playground does.

    kernels: a list of kernels, each a nested list of numbers; a 3-D kernel holds one slice
    per RGB channel, otherwise the image is read as grayscale in [0, 1]. padding: a number,
    "valid" or "same" (PyTorch's: the extra row/column of an even kernel at bottom/right).
    Returns {"shape": [channels, height, width], "channels": [...]}: the final output."""
    path = uploaded_path(image)
    try:
        ks = pg.check_kernels(kernels)
        img, _ = to_array(read_image(path, colour=True), max_side=PLAYGROUND_SIDE)
        res = pg.chain(img, ks, padding, stride, dilation, padding_mode, activation, slope, pooling,
                       pool_kernel, pool_stride)
        pg.check_output_size(res)
    except (pg.PlaygroundError, InputError) as e:
        raise refuse(str(e))
    return pv.api_result(res.final)


def uploaded_path(image) -> str:
    """The server path of an uploaded file, refused unless it lies in Gradio's upload cache."""
    from gradio.utils import get_upload_folder
    path = image.get("path") if isinstance(image, dict) else getattr(image, "path", image)
    if not path:
        raise refuse("No image: send an image file.")
    p = Path(str(path)).resolve()
    root = Path(get_upload_folder()).resolve()
    if root not in p.parents:
        raise refuse("The image must be uploaded with the request (use gradio_client's handle_file).")
    return str(p)
