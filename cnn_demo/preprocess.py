"""A sketch or an uploaded image → the 28×28 input the network sees, made the way MNIST
itself was made: crop to the ink, fit into 20×20 keeping the aspect ratio, then move the
centre of mass to the centre of a 28×28 frame. Strokes are brought to MNIST's width first,
since a thin pen line shrunk to 20 px would all but vanish.

Every step is kept, so the Draw tab can show how the input came to be.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from . import limits

WORK = 160  # intermediate resolution for the stroke-width step (the 20 px box × 8)
INK_THRESHOLD = 0.15
MAX_SIDE = 1024  # larger images are reduced first: a digit needs no more
TARGET_WIDTH = 0.10  # median MNIST stroke: 10 % of the digit's longer side (2,000 training digits)


class InputError(ValueError):
    """An image that cannot be read as a digit; the message is for the learner."""


@dataclass
class Preprocessed:
    image: np.ndarray  # float32 (28, 28) in [0, 1], ink = 1
    steps: dict = field(default_factory=dict)  # name → float32 image in [0, 1], in order
    bbox: tuple = ()  # (top, left, bottom, right) of the ink in the given image
    center_of_mass: tuple = ()  # (row, col) in the 28×28 frame, before shifting
    stroke_width: float = 0.0  # estimated, as a fraction of the digit's longer side
    grid_map: tuple = (1.0, 0.0, 0.0)  # (scale, row offset, col offset): 28×28 grid = scale·(ink − (top, left)) + offset

    def to_ink_coords(self, heat: np.ndarray) -> np.ndarray:
        """A 28×28 map carried back onto the ink image (steps["ink"]): where on the canvas
        each value of the network's input came from (nearest grid cell; 0 outside it)."""
        ink = self.steps["ink"]
        s, oy, ox = self.grid_map
        top, left = self.bbox[:2]
        gy = np.floor(s * (np.arange(ink.shape[0]) - top) + oy).astype(int)
        gx = np.floor(s * (np.arange(ink.shape[1]) - left) + ox).astype(int)
        vy, vx = (gy >= 0) & (gy < 28), (gx >= 0) & (gx < 28)
        out = heat[np.clip(gy, 0, 27)][:, np.clip(gx, 0, 27)]
        return np.where(vy[:, None] & vx[None, :], out, 0).astype(np.float32)

    def tensor(self) -> torch.Tensor:
        return torch.from_numpy(self.image)[None, None]


def read_image(data: bytes | str, colour: bool = False) -> Image.Image:
    """Open an image file safely: its size is checked from the header before any pixel is
    decoded (limits.check_image_size), large decodes take turns (limits.decode_slot), any
    common mode, EXIF orientation applied, and reduced to MAX_SIDE on its longer side. A JPEG
    is decoded at reduced size, in grayscale unless `colour` (the playground's photos)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit is below
            img = Image.open(io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data)
            w, h = img.size
            limits.check_image_size(w, h, img.format)
            img.draft("RGB" if colour else "L", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at reduced size
            with limits.decode_slot(img.size[0] * img.size[1]):
                img.load()
                k = max(img.size) // MAX_SIDE
                if k >= 2:  # an integer box reduction first: resizing RGBA copies the full-size image
                    img = img.reduce(k)
                if max(img.size) > MAX_SIDE:
                    img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.BOX)
                img = ImageOps.exif_transpose(img)  # on the small image: turning copies it
    except limits.LimitError as e:
        raise InputError(str(e)) from None
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise InputError(f"That file is not an image this app can read ({type(e).__name__}).") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise InputError(f"The image could not be decoded; it may be truncated or corrupt ({e}).") from None
    return img


def to_ink(img: Image.Image | np.ndarray, paper: str = "auto") -> np.ndarray:
    """Ink intensity in [0, 1] (float32, ink = 1) from any image: grayscale or colour,
    dark ink on light paper, light ink on dark (as MNIST), or ink on transparency.
    `paper` "light"/"dark" says which; "auto" decides by the image's border."""
    if isinstance(img, np.ndarray):
        a = img
        if a.dtype == bool:
            a = a.astype(np.float32)
        elif a.dtype == np.uint8:
            a = a.astype(np.float32) / 255
        elif a.dtype == np.uint16:
            a = a.astype(np.float32) / 65535
        else:
            a = np.nan_to_num(a.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
            if a.size and a.max() > 1.0:
                a = a / 255
            a = np.clip(a, 0, 1)
        if a.ndim == 3 and a.shape[2] == 1:
            a = a[..., 0]
        if a.ndim == 2:
            gray, alpha = a, None
        elif a.ndim == 3 and a.shape[2] in (2, 3, 4):
            gray = a[..., 0] if a.shape[2] == 2 else a[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)
            alpha = a[..., -1] if a.shape[2] in (2, 4) else None
        else:
            raise InputError(f"Expected a 2-D image or an image with 1–4 channels, got shape {a.shape}.")
    else:
        if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
            arr = np.nan_to_num(np.asarray(img, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
            top = float(arr.max(initial=0))
            # floats in [0, 1] (a scientific TIFF) are already intensities; integers are 8 or 16 bits
            hi = 1.0 if img.mode == "F" and top <= 1.0 else 65535.0 if img.mode.startswith("I;16") or top > 255 else 255.0
            return to_ink(np.clip(arr / hi, 0, 1), paper)
        has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
        return to_ink(np.asarray(img.convert("LA" if has_alpha else "L")), paper)
    if alpha is not None and alpha.min() < 0.99:
        # ink on transparency: composite onto white paper
        gray = gray * alpha + (1 - alpha)
    if paper != "auto":  # the canvas: white paper, black ink, exactly
        return (gray if paper == "dark" else 1 - gray).astype(np.float32)
    if not gray.size:  # no pixels, so no border to read the paper from: preprocess says it is empty
        return np.zeros(gray.shape, np.float32)
    # a picture: the paper's own level (its border) is no ink, the far end of the range is full
    # ink, so a photo of grey paper under room light reads like a scan
    level = float(np.median(np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])))
    ink = gray - level if level < 0.5 else level - gray
    span = float(ink.max()) if ink.size else 0.0
    return np.clip(ink / max(span, 0.25), 0, 1).astype(np.float32)


def _resize(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area-averaging resize (antialiased both ways), float in → float out."""
    t = torch.from_numpy(np.ascontiguousarray(x))[None, None]
    mode = "area" if size[0] <= x.shape[0] and size[1] <= x.shape[1] else "bilinear"
    kw = {} if mode == "area" else {"align_corners": False, "antialias": False}
    return F.interpolate(t, size=size, mode=mode, **kw)[0, 0].numpy()


def stroke_width(ink: np.ndarray) -> float:
    """Mean stroke width in pixels: area / half the perimeter of the thresholded ink."""
    m = ink > 0.5
    area = m.sum()
    if area == 0:
        return 0.0
    perim = (m[1:] != m[:-1]).sum() + (m[:, 1:] != m[:, :-1]).sum() + m[0].sum() + m[-1].sum() + m[:, 0].sum() + m[:, -1].sum()
    return float(2 * area / max(perim, 1))


def _max1d(x: np.ndarray, radius: int, axis: int) -> np.ndarray:
    """Running max over windows of 2·radius+1 along `axis` (outside counts as −∞), in
    O(log radius) array operations: maxima of doubling widths, then two overlapping ones."""
    n, k = x.shape[axis], 2 * radius + 1
    pad = [(0, 0)] * x.ndim
    pad[axis] = (radius, radius)
    m = np.pad(x, pad, constant_values=-np.inf)

    def cut(a, start, stop):
        return a[(slice(None),) * axis + (slice(start, stop),)]
    w = 1
    while 2 * w <= k:  # m[i] = max of the w values from i
        m = np.maximum(cut(m, 0, m.shape[axis] - w), cut(m, w, None))
        w *= 2
    return np.maximum(cut(m, 0, n), cut(m, k - w, k - w + n))


def _morph(x: np.ndarray, radius: int, grow: bool) -> np.ndarray:
    """Dilate (grow) or erode the ink with a square of side 2·radius+1: a square is separable,
    so rows then columns (what max_pool2d computes, 5× faster at the radii used here)."""
    y = x if grow else -x
    y = _max1d(_max1d(y, radius, 0), radius, 1)
    return (y if grow else -y).astype(np.float32, copy=False)


def preprocess(img, normalize_width: bool = True, paper: str = "auto") -> Preprocessed:
    """The whole way from a drawing (array or PIL image) to the network's 28×28 input.
    The Sketchpad passes paper="light" (it always is); files are judged by their border."""
    ink = to_ink(img, paper)
    if ink.ndim != 2 or ink.size == 0:
        raise InputError("The image is empty.")
    if max(ink.shape) > MAX_SIDE:
        s = MAX_SIDE / max(ink.shape)
        ink = _resize(ink, (max(1, round(ink.shape[0] * s)), max(1, round(ink.shape[1] * s))))
    mask = ink > INK_THRESHOLD
    if not mask.any():
        raise InputError("The canvas is empty: draw a digit." if paper == "light" else
                         "The image is empty: no ink on it (send a picture of one digit).")
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    if mask.mean() > 0.6:
        raise InputError("The canvas is mostly ink: clear it and draw one digit, dark on light." if paper == "light"
                         else "The image is mostly ink: send a picture of one digit, dark on light or light on dark.")
    crop = ink[top:bottom, left:right]
    h, w = crop.shape
    # fit the longer side into WORK px, keeping the aspect ratio
    s = WORK / max(h, w)
    work = _resize(crop, (max(1, round(h * s)), max(1, round(w * s))))
    width = stroke_width(work) / WORK
    pad = 0
    if normalize_width and width > 0:
        target = TARGET_WIDTH * WORK
        delta = round((target - width * WORK) / 2)
        # bound the change: a single dot or a filled blob should not be turned into mud
        delta = int(np.clip(delta, -4, 12))
        if delta:
            pad = abs(delta)
            padded = np.pad(work, pad)
            work = _morph(padded, abs(delta), grow=delta > 0)
    h2, w2 = work.shape
    s20 = 20 / max(h2, w2)
    fit = np.clip(_resize(work, (max(1, round(h2 * s20)), max(1, round(w2 * s20)))), 0, 1)
    # centre of mass to the centre of the 28×28 frame (integer shift, as MNIST did)
    fh, fw = fit.shape
    total = fit.sum()
    cy = (fit.sum(1) @ np.arange(fh)) / total if total else (fh - 1) / 2
    cx = (fit.sum(0) @ np.arange(fw)) / total if total else (fw - 1) / 2
    oy = int(np.clip(round(13.5 - cy), 0, 28 - fh))
    ox = int(np.clip(round(13.5 - cx), 0, 28 - fw))
    out = np.zeros((28, 28), np.float32)
    out[oy:oy + fh, ox:ox + fw] = fit
    boxed = np.zeros((28, 28), np.float32)
    boxed[(28 - fh) // 2:(28 - fh) // 2 + fh, (28 - fw) // 2:(28 - fw) // 2 + fw] = fit
    steps = {"ink": ink, "cropped": crop, "stroke width": work, "fit 20×20": boxed, "centred (28×28)": out}
    grid_map = (s * s20, pad * s20 + oy, pad * s20 + ox)
    return Preprocessed(out, steps, (int(top), int(left), int(bottom), int(right)),
                        (float(cy + oy), float(cx + ox)), width, grid_map)


def to_canvas(img, side: int = 400, margin: float = 0.1) -> np.ndarray:
    """Any picture of a digit → what the canvas would hold had it been drawn there: uint8
    (side, side), black ink on white, the ink fitted within `margin` of the edges. So a
    learner who cannot draw (keyboard, screen reader) can still put a digit on the canvas
    and keep working on it."""
    ink = to_ink(img, "auto")
    if ink.ndim != 2 or ink.size == 0:
        raise InputError("The image is empty.")
    mask = ink > INK_THRESHOLD
    if not mask.any():
        raise InputError("The image is empty: no ink on it (send a picture of one digit).")
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    crop = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    s = side * (1 - 2 * margin) / max(crop.shape)
    h, w = max(1, round(crop.shape[0] * s)), max(1, round(crop.shape[1] * s))
    fit = np.clip(_resize(crop, (h, w)), 0, 1)
    out = np.zeros((side, side), np.float32)
    top, left = (side - h) // 2, (side - w) // 2
    out[top:top + h, left:left + w] = fit
    return (255 - np.round(out * 255)).astype(np.uint8)
