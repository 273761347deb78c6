"""Arrays → small images: colormaps, mosaics, barcodes, PNG bytes.

Images are made at their native resolution (a 28×28 map is 28×28 pixels) and scaled up
by the browser with `image-rendering: pixelated`: tiny PNGs encode in microseconds and
every pixel stays a crisp square. No matplotlib on this path.
"""
from __future__ import annotations

import base64
import io
import struct
import zlib

import numpy as np
from PIL import Image

_ANCHORS = {
    # matplotlib's viridis and RdBu_r, sampled at 11 points (the colormaps are CC0 / BSD)
    "viridis": ["#440154", "#482475", "#414487", "#355f8d", "#2a788e", "#21918c",
                "#22a884", "#44bf70", "#7ad151", "#bddf26", "#fde725"],
    "diverging": ["#053061", "#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7",
                  "#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f"],
    "gray": ["#000000", "#ffffff"],
}
GAP = (165, 165, 172)  # the grey between tiles: darker than white (0 on a diverging map)


def _hex(c: str) -> tuple:
    return tuple(int(c[i:i + 2], 16) for i in (1, 3, 5))


def _make_lut(colors) -> np.ndarray:
    pts = np.array([_hex(c) for c in colors], float)
    x = np.linspace(0, 1, len(pts))
    t = np.linspace(0, 1, 256)
    return np.stack([np.interp(t, x, pts[:, i]) for i in range(3)], 1).round().astype(np.uint8)


LUTS = {name: _make_lut(c) for name, c in _ANCHORS.items()}


def css_gradient(cmap: str) -> str:
    """The colormap as a CSS linear-gradient, for legends drawn by the browser."""
    colors = _ANCHORS[cmap]
    return "linear-gradient(to right, " + ", ".join(colors) + ")"


def scale_for(a: np.ndarray) -> tuple[str, float, float]:
    """Colormap and range for values `a`: signed → diverging, symmetric about 0;
    non-negative → sequential from 0. One scale per layer, so channels compare."""
    finite = a[np.isfinite(a)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if lo < 0:
        m = max(-lo, hi, 1e-8)
        return "diverging", -m, m
    return "viridis", 0.0, max(hi, 1e-8)


def colorize(a: np.ndarray, cmap: str, vmin: float, vmax: float) -> np.ndarray:
    """Values → uint8 RGB through a 256-entry lookup table."""
    idx = np.nan_to_num((a - vmin) * (255.0 / max(vmax - vmin, 1e-12)), nan=0.0)
    return LUTS[cmap][np.clip(idx, 0, 255).astype(np.uint8)]


def grid(tiles: np.ndarray, cols: int, gap: int = 1) -> np.ndarray:
    """(N, h, w, 3) uint8 tiles → one (rows·(h+gap)−gap, cols·(w+gap)−gap, 3) image."""
    n, h, w, _ = tiles.shape
    cols = max(1, min(cols, n))
    rows = -(-n // cols)
    out = np.empty((rows * (h + gap) - gap, cols * (w + gap) - gap, 3), np.uint8)
    out[:] = GAP
    for i in range(n):
        r, c = divmod(i, cols)
        out[r * (h + gap): r * (h + gap) + h, c * (w + gap): c * (w + gap) + w] = tiles[i]
    return out


def feature_mosaic(maps: np.ndarray, cols: int | None = None, scale=None) -> tuple[np.ndarray, tuple]:
    """(C, H, W) maps on one shared scale → (mosaic, (cmap, vmin, vmax))."""
    scale = scale or scale_for(maps)
    cols = cols or min(len(maps), 8)
    return grid(colorize(maps, *scale), cols), scale


def filter_mosaic(w: np.ndarray, blocks_per_row: int | None = None) -> tuple[np.ndarray, tuple]:
    """Conv weights (O, I, k, k) on one symmetric scale. One input channel: a row of
    kernels. Several: one block per output channel, its I kernels in a small grid."""
    m = float(np.abs(w).max()) or 1e-8
    scale = ("diverging", -m, m)
    o, i, kh, kw = w.shape
    rgb = colorize(w, *scale)  # (O, I, k, k, 3)
    if i == 1:
        return grid(rgb[:, 0], blocks_per_row or min(o, 8)), scale
    inner = int(np.ceil(np.sqrt(i)))
    blocks = np.stack([grid(rgb[j], inner) for j in range(o)])
    blocks = np.pad(blocks, ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=255)  # a white frame per block
    return grid(blocks, blocks_per_row or min(o, 8), gap=2), scale


def barcode(v: np.ndarray, scale=None) -> tuple[np.ndarray, tuple]:
    """A vector (N,) as one row of N coloured cells."""
    v = v.reshape(-1)
    scale = scale or scale_for(v)
    return colorize(v[None, :], *scale), scale


def fit(maps: np.ndarray, side: int) -> np.ndarray:
    """Shrink (..., H, W) by an integer factor (area average) until both sides are ≤ `side`."""
    h, w = maps.shape[-2:]
    f = int(np.ceil(max(h, w) / side))
    if f < 2:
        return maps
    h2, w2 = h // f, w // f
    if h2 == 0 or w2 == 0:
        return maps
    cut = maps[..., : h2 * f, : w2 * f]
    return cut.reshape(*maps.shape[:-2], h2, f, w2, f).mean(axis=(-3, -1))


def gray(a: np.ndarray) -> np.ndarray:
    """[0, 1] floats → uint8 grayscale (ink = white, as the network sees it)."""
    return (np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)  # callers pass finite arrays (to_ink cleans)


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def png(img: np.ndarray) -> bytes:
    """uint8 gray (H, W) or RGB(A) (H, W, 3|4) → PNG bytes. Small images are written directly
    (signature, IHDR, one IDAT of unfiltered rows, IEND): a map takes ~15 µs instead of PIL's
    ~180 µs, which is most of the cost of a drawing's dozen maps. Large ones go through PIL,
    whose row filters compress photos better."""
    img = np.ascontiguousarray(img, dtype=np.uint8)
    h, w = img.shape[:2]
    channels = 1 if img.ndim == 2 else img.shape[2]
    if h * w > 256 * 256 or channels not in (1, 3, 4):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="PNG", compress_level=1)
        return buf.getvalue()
    rows = np.zeros((h, 1 + w * channels), np.uint8)  # each row: filter type 0, then its bytes
    rows[:, 1:] = img.reshape(h, -1)
    color = {1: 0, 3: 2, 4: 6}[channels]
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 1)) + _chunk(b"IEND", b""))


def data_uri(img: np.ndarray, lossy: bool = False) -> str:
    """PNG, so that every pixel of a small map stays an exact square; with `lossy`, photo-sized
    images go as JPEG, which encodes 20× faster and 3× smaller where single pixels are not the point."""
    if not lossy or img.shape[0] * img.shape[1] < 96 * 96:
        return "data:image/png;base64," + base64.b64encode(png(img)).decode("ascii")
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=90)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
