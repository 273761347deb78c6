"""The Draw tab's canvas: the app's own, drawn in the page and sent as one PNG per stroke.

Gradio's Sketchpad cost a stroke about 0.8 s of its 1.1 s before the server saw it: it
exports its layers as three 400×400 PNGs in the page's idle time, uploads them, and exports
and uploads the canvas twice more before the event joins the queue (BENCHMARKS.md, "A
learner's stroke, in a browser"). This canvas is a `gr.HTML` whose page script draws with the
pointer and, at each pointer-up, encodes the canvas once (`toDataURL`, at once) and fires a
`stroke` event whose payload carries the PNG as a data URL: no upload, no blob store.

The payload is hostile until checked: its length is bounded before base64 is decoded, the PNG's
size is read from its header before its pixels are (a 194 KB PNG can declare 13000×13000), and
every refusal is a sentence naming the bound. A value set by the app (an example digit, a share
link, a lesson) is drawn as the canvas's paper, under the learner's next strokes; it fires no
stroke (the event that set it has answered already).
"""
from __future__ import annotations

import base64
import binascii
import io
import warnings
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image, UnidentifiedImageError

from ..limits import CANVAS_MAX_BYTES, CANVAS_MAX_SIDE, megabytes
from ..strokes import BRUSH, CANVAS
from . import refuse

PREFIX = "data:image/png;base64,"
MAX_CHARS = len(PREFIX) + 4 * -(-CANVAS_MAX_BYTES // 3)  # the base64 of the largest PNG accepted
LABEL = "Draw a digit (0–9)"
SCRIPT = Path(__file__).with_name("static") / "pad.js"
TOOLS = [("brush", "Brush", "Brush"), ("erase", "Erase", "Erase"), ("undo", "Undo", "Undo"), ("redo", "Redo", "Redo"),
         ("clear", "Clear", "Clear canvas")]  # (action, what the button shows, its name: the shown word first)


def check_canvas_image(data: bytes, what: str = "The canvas image") -> Image.Image:
    """Refuse an image of the canvas by its bytes and its header, before decoding it; the image
    opened (its header read, its pixels not yet) for the caller to decode."""
    if len(data) > CANVAS_MAX_BYTES:
        raise ValueError(f"{what} is {megabytes(len(data))}; the canvas sends at most {megabytes(CANVAS_MAX_BYTES)}.")
    try:
        with warnings.catch_warnings():  # Pillow warns about large sizes on opening; the check below is ours
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise ValueError(f"{what} is not an image the canvas could have sent ({type(e).__name__}).") from None
    w, h = im.size
    if w > CANVAS_MAX_SIDE or h > CANVAS_MAX_SIDE:
        im.close()
        raise ValueError(f"{what} is {w}×{h} pixels; the canvas sends at most {CANVAS_MAX_SIDE}×{CANVAS_MAX_SIDE}.")
    return im


def decode(payload) -> np.ndarray | None:
    """A canvas data URL → its pixels as uint8 grey (ink on white paper; transparency is paper),
    or None for a blank canvas. ValueError, with the bound it broke, for anything else."""
    if payload is None or payload == "":
        return None
    if not isinstance(payload, str):
        raise ValueError("The canvas sends its drawing as a PNG data URL (text); this is not text.")
    if len(payload) > MAX_CHARS:
        raise ValueError(f"The canvas image is too large: the canvas sends at most {megabytes(CANVAS_MAX_BYTES)}.")
    if not payload.startswith(PREFIX):
        raise ValueError("The canvas sends its drawing as a PNG data URL (data:image/png;base64,…); this is not one.")
    try:
        data = base64.b64decode(payload[len(PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("The canvas image is not valid base64.") from None
    try:
        with check_canvas_image(data) as im:  # opened once: its header checked, then its pixels read
            if im.format != "PNG":
                raise ValueError(f"The canvas sends PNG images, not {im.format}.")
            im.load()
            if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
                rgba = im.convert("RGBA")
                paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                im = Image.alpha_composite(paper, rgba)
            return np.asarray(im.convert("L"))
    except (OSError, SyntaxError, Image.DecompressionBombError) as e:
        raise ValueError(f"The canvas image could not be read ({type(e).__name__}).") from None


def encode(value) -> str | None:
    """What the app puts on the canvas (an array, a Sketchpad-style dict, or None) → a data URL."""
    if isinstance(value, dict):
        value = value.get("composite")
    if value is None:
        return None
    if isinstance(value, str):  # a data URL already (what the canvas itself sent)
        return value
    img = np.asarray(value)
    if img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return PREFIX + base64.b64encode(buf.getvalue()).decode("ascii")


def template(label: str) -> str:
    tools = "".join(f'<button type="button" class="cx-padtool" data-act="{act}" aria-label="{name}">{shown}</button>'
                    for act, shown, name in TOOLS)
    return (f'<div class="cx-pad"><div class="cx-padlabel" id="pad-label">{label}</div>'
            f'<canvas width="{CANVAS}" height="{CANVAS}" data-brush="{BRUSH}" role="img" '
            f'aria-labelledby="pad-label" aria-describedby="pad-how"></canvas>'
            f'<p class="cx-sr" id="pad-how">Draw with the mouse, a pen or a finger; the network reads the '
            f'digit when you lift it.</p>'
            f'<div class="cx-padtools" role="toolbar" aria-label="Canvas tools">{tools}</div></div>')


class Pad(gr.HTML):
    """The canvas: its value is None (blank) or a PNG data URL; handlers receive the pixels
    (uint8 grey, ink dark on white) and may return an array to put a digit on it. Its `stroke`
    event fires after each stroke, undo, redo and clear (its `change` also fires when the app
    sets its value)."""

    EVENTS = [*gr.HTML.EVENTS, "stroke"]

    def __init__(self, label: str = LABEL, **kwargs):
        super().__init__(value=None, html_template=template(label), js_on_load=SCRIPT.read_text(),
                         apply_default_css=False, **kwargs)

    def preprocess(self, payload) -> np.ndarray | None:
        try:
            return decode(payload)
        except ValueError as e:
            raise refuse(str(e)) from None

    def postprocess(self, value) -> str | None:
        return encode(value)

    def api_info(self) -> dict:
        return {"type": "string", "description": "the canvas as a PNG data URL (data:image/png;base64,…), "
                                                 "or null for a blank canvas"}

    def example_payload(self):
        return encode(np.full((28, 28), 255, np.uint8))

    def example_value(self):
        return np.full((28, 28), 255, np.uint8)
