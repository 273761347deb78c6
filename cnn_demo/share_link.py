"""The app's state in a link, TensorFlow-Playground style: what a teacher sees — the tab, the
model, the drawing itself, the settings of the explanation and playground tabs — packed into
one query parameter short enough to paste into a chat, and unpacked with every field checked,
so a malformed or tampered link gets a sentence and never a traceback.

Nothing is stored on the server: Gradio's own deep links (`gr.DeepLinkButton`) save each
shared state as a file on the server, which a public link cannot let visitors fill, and which
a Space's restart forgets. A link here holds its state and works on any copy of the app.

A drawing is ink on a 400×400 canvas; the link keeps it as a 100×100 bitmap (one bit a 4×4
block), run-length friendly, zlib-compressed: a few hundred characters. The network sees a
28×28 reduction of the digit, so the blocks change what it reads by well under a percent.
"""
from __future__ import annotations

import base64
import binascii
import json
import zlib

import numpy as np

PARAM = "s"  # the query parameter: ?s=1.<base64url>
VERSION = "1"
MAX_LINK = 4096  # characters of the parameter; a drawing takes a few hundred
MAX_JSON = 65536  # bytes after decompression: a zlib bomb stops here
BITMAP = 100  # the drawing's side in the link (the canvas is 400)
INK = 128  # a canvas pixel darker than this is ink


class LinkError(ValueError):
    """A link that cannot be opened; the message says why, for the visitor."""


def pack_drawing(img: np.ndarray, side: int = BITMAP) -> str:
    """A canvas (uint8 H×W, white paper, black ink) → base64url of its side×side ink bitmap."""
    a = np.asarray(img, np.float32)
    if a.ndim != 2 or min(a.shape) < 1:
        raise LinkError("The drawing is not an image.")
    h, w = a.shape
    ys = (np.arange(side + 1) * h) // side
    xs = (np.arange(side + 1) * w) // side
    # the darkest pixel of each block: a thin stroke survives the reduction
    blocks = np.minimum.reduceat(np.minimum.reduceat(a, ys[:-1], 0), xs[:-1], 1)
    bits = np.packbits(blocks < INK)
    return base64.urlsafe_b64encode(zlib.compress(bits.tobytes(), 9)).decode().rstrip("=")


def unpack_drawing(token: str, canvas: int = 400, side: int = BITMAP) -> np.ndarray:
    """The inverse: uint8 (canvas, canvas), black ink on white, each bit a block."""
    raw = _inflate(token, (side * side + 7) // 8 + 1, "drawing")
    if len(raw) != (side * side + 7) // 8:
        raise LinkError("The link's drawing is damaged (it has the wrong size).")
    bits = np.unpackbits(np.frombuffer(raw, np.uint8))[:side * side].reshape(side, side)
    k = canvas // side
    return np.where(np.kron(bits, np.ones((k, k), np.uint8)) > 0, 0, 255).astype(np.uint8)


def encode(state: dict) -> str:
    """A state (plain JSON values) → the link's parameter value."""
    body = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    token = VERSION + "." + base64.urlsafe_b64encode(zlib.compress(body, 9)).decode().rstrip("=")
    if len(token) > MAX_LINK:
        raise LinkError(f"This view makes a link of {len(token):,} characters; links hold at most {MAX_LINK:,}.")
    return token


def decode(token) -> dict:
    """The parameter value → a state dict; `LinkError` with a sentence for anything else."""
    if not isinstance(token, str) or not token:
        raise LinkError("The link holds no view.")
    if len(token) > MAX_LINK:
        raise LinkError(f"The link is {len(token):,} characters long; links this app makes hold at most {MAX_LINK:,}.")
    version, _, body = token.partition(".")
    if version != VERSION or not body:
        raise LinkError("The link was made by another version of this app, or it was cut short; make it again.")
    try:
        state = json.loads(_inflate(body, MAX_JSON, "view"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise LinkError("The link is damaged: its view cannot be read. Ask for it again.") from None
    if not isinstance(state, dict):
        raise LinkError("The link is damaged: its view cannot be read. Ask for it again.")
    return state


def _inflate(token: str, limit: int, what: str) -> bytes:
    try:
        packed = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
        d = zlib.decompressobj()
        out = d.decompress(packed, limit)
    except (binascii.Error, ValueError, zlib.error):
        raise LinkError(f"The link is damaged: its {what} cannot be read. Ask for it again.") from None
    if d.unconsumed_tail:
        raise LinkError(f"The link's {what} unpacks to more than {limit:,} bytes; this app's links never do.")
    return out


# ---- fields: each read with its type and range, or dropped with a note ------------------------
def text(state: dict, key: str, choices=None, limit: int = 200) -> str | None:
    v = state.get(key)
    if not isinstance(v, str) or not v or len(v) > limit:
        return None
    return v if choices is None or v in choices else None


def whole(state: dict, key: str, lo: int, hi: int) -> int | None:
    v = state.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        return None
    return v
