"""The Draw tab's canvas: Gradio's Sketchpad with bounds on what it accepts.

Gradio decodes a Sketchpad's images before the app's code runs, and takes them two ways:
as files named in the event's payload (what an API client sends), or as blobs the browser
posts to the component's `accept_blobs` server function, held in memory until the event
that uses them runs. Unbounded, either way lets one request allocate gigabytes (a 194 KB
PNG can declare 13000×13000 pixels) and the blob store grows with every event that never
ran. Here every image's size is read from its header before it is decoded, the blob store
is a bounded FIFO (least recent uploads dropped first), and every refusal is a sentence
naming the bound.
"""
from __future__ import annotations

import io
import re
import threading
import warnings
from collections import OrderedDict
from pathlib import Path

import gradio as gr
from gradio.components.base import server
from gradio.components.image_editor import EditorDataBlobs
from PIL import Image, UnidentifiedImageError

from ..limits import CANVAS_MAX_BYTES, CANVAS_MAX_LAYERS, CANVAS_MAX_SIDE, CANVAS_PENDING_BYTES, megabytes
from . import refuse

BLOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def check_canvas_image(data: bytes | str | Path, what: str = "The canvas image") -> None:
    """Refuse an image of the canvas by its bytes and its header, before decoding it."""
    size = len(data) if isinstance(data, (bytes, bytearray)) else Path(data).stat().st_size
    if size > CANVAS_MAX_BYTES:
        raise ValueError(f"{what} is {megabytes(size)}; the canvas sends at most {megabytes(CANVAS_MAX_BYTES)}.")
    try:
        with warnings.catch_warnings():  # Pillow warns about large sizes on opening; the check below is ours
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data) as im:
                w, h = im.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise ValueError(f"{what} is not an image the canvas could have sent ({type(e).__name__}).") from None
    if w > CANVAS_MAX_SIDE or h > CANVAS_MAX_SIDE:
        raise ValueError(f"{what} is {w}×{h} pixels; the canvas sends at most {CANVAS_MAX_SIDE}×{CANVAS_MAX_SIDE}.")


class BlobStore(OrderedDict):
    """Pending canvas uploads, at most `budget` bytes in all: adding beyond it drops the oldest
    (an event whose upload was dropped sees an empty canvas and asks for a drawing again)."""

    def __init__(self, budget: int = CANVAS_PENDING_BYTES):
        super().__init__()
        self.budget = budget
        self.lock = threading.Lock()

    @staticmethod
    def _size(v) -> int:
        if isinstance(v, str):  # a refusal waiting for its event
            return len(v)
        parts = [v.background, v.composite, *v.layers]
        return sum(len(p) for p in parts if p is not None)

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > 1 and sum(self._size(v) for v in self.values()) > self.budget:
            self.popitem(last=False)


class Canvas(gr.Sketchpad):
    """A Sketchpad whose inputs are bounded (see the module's docstring). It keeps the
    Sketchpad's constructor (Gradio reads a component's props from its signature)."""

    @property
    def blob_storage(self) -> BlobStore:
        return self.__dict__["_blobs"]

    @blob_storage.setter
    def blob_storage(self, value):  # the Sketchpad's constructor sets a plain dict
        self.__dict__["_blobs"] = value if isinstance(value, BlobStore) else BlobStore()

    def get_block_name(self) -> str:
        return "imageeditor"  # the browser side is Gradio's own image editor

    @server
    def accept_blobs(self, data):
        """One image of the canvas, posted by the browser before its change event. Never raises
        (a server function's exception would be a server traceback): a bad upload is stored as
        the sentence its event will answer with."""
        try:
            fields = data.data
            kind, blob_id, index = fields.get("type"), str(fields.get("id", "")), fields.get("index")
            if not BLOB_ID.match(blob_id):
                return
            index = None if index in (None, "", "null") else int(index)
            if kind not in ("background", "composite", "layer") or (
                    kind == "layer" and not (index is not None and 0 <= index < CANVAS_MAX_LAYERS)):
                raise ValueError("The canvas sent an image of a kind it does not have.")
            if len(data.files) != 1:
                raise ValueError("The canvas sends one image at a time.")
            blob = data.files[0][1]
            check_canvas_image(blob)
        except (ValueError, TypeError, AttributeError, KeyError) as e:
            if "blob_id" in locals() and BLOB_ID.match(blob_id):
                with self.blob_storage.lock:
                    self.blob_storage[blob_id] = str(e) if isinstance(e, ValueError) else "The canvas upload was malformed."
            return
        with self.blob_storage.lock:
            current = self.blob_storage.get(blob_id)
            if not isinstance(current, EditorDataBlobs):
                if isinstance(current, str):
                    return  # an earlier part of this upload was refused: the event will say so
                current = EditorDataBlobs(background=None, layers=[], composite=None)
            if kind == "layer":
                current.layers.extend([None] * (index + 1 - len(current.layers)))
                current.layers[index] = blob
            else:
                setattr(current, kind, blob)
            self.blob_storage[blob_id] = current

    def preprocess(self, payload):
        """Gradio's own preprocessing (decode each image; composite onto white paper), after the
        checks above; the blob store's lock is held only to take the upload out."""
        if payload is None:
            return None
        if payload.id is not None:
            with self.blob_storage.lock:
                src = self.blob_storage.pop(payload.id, None)
            if isinstance(src, str):
                raise refuse(src)
            if src is None:  # never sent, or dropped: the handler asks for a drawing
                return {"background": None, "layers": [], "composite": None}
        else:  # images named in the payload (an API client): check each before it is decoded
            src = payload
            if len(payload.layers or []) > CANVAS_MAX_LAYERS:
                raise refuse(f"The canvas has at most {CANVAS_MAX_LAYERS} layers, not {len(payload.layers)}.")
            try:
                for f in [payload.background, payload.composite, *(payload.layers or [])]:
                    if f is not None:
                        check_canvas_image(f.path)
            except (ValueError, OSError) as e:
                raise refuse(str(e)) from None
        layers = [self.convert_and_format_image(x) for x in src.layers or []]
        return {"background": self.convert_and_format_image(src.background, flatten_on_white=True),
                "layers": [x for x in layers if x is not None],
                "composite": self.convert_and_format_image(src.composite, flatten_on_white=True)}
