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


def indices(a: np.ndarray, vmin: float, vmax: float, top: int = 255) -> np.ndarray:
    """Values → uint8 positions 0..`top` on a colormap; fmax/fmin clip and send NaN to the
    bottom in one pass each (this runs for every map of every stroke)."""
    idx = (np.asarray(a, np.float32) - np.float32(vmin)) * np.float32(top / max(vmax - vmin, 1e-12))
    np.fmax(idx, 0, out=idx)  # NaN → 0
    np.fmin(idx, top, out=idx)
    return idx.astype(np.uint8)


def colorize(a: np.ndarray, cmap: str, vmin: float, vmax: float) -> np.ndarray:
    """Values → uint8 RGB through a 256-entry lookup table (`take` gathers rows 4× faster
    than fancy indexing)."""
    return LUTS[cmap].take(indices(a, vmin, vmax), axis=0)


def grid(tiles: np.ndarray, cols: int, gap: int = 1, fill=GAP) -> np.ndarray:
    """(N, h, w, ...) tiles → one (rows·(h+gap)−gap, cols·(w+gap)−gap, ...) image, `fill`
    between them."""
    n, h, w = tiles.shape[:3]
    cols = max(1, min(cols, n))
    rows = -(-n // cols)
    cells = np.empty((rows * cols, h + gap, w + gap, *tiles.shape[3:]), tiles.dtype)
    cells[:] = fill
    cells[:n, :h, :w] = tiles
    out = np.swapaxes(cells.reshape(rows, cols, h + gap, w + gap, *tiles.shape[3:]), 1, 2)
    return np.ascontiguousarray(out.reshape(rows * (h + gap), cols * (w + gap), *tiles.shape[3:])
                                [:rows * (h + gap) - gap, :cols * (w + gap) - gap])


class Paletted:
    """An image as indices into a palette of 256 colours: one byte a pixel instead of three,
    so the dozen mosaics of a stroke are a third of the bytes to fill and to compress. The
    palette is a colormap at 255 levels, then the grey between tiles."""

    def __init__(self, idx: np.ndarray, palette: np.ndarray):
        self.idx, self.palette = idx, palette

    @property
    def shape(self) -> tuple:
        return (*self.idx.shape, 3)

    def rgb(self) -> np.ndarray:
        return self.palette.take(self.idx, axis=0)


PALETTES = {name: np.concatenate([_make_lut(c)[np.linspace(0, 255, 255).round().astype(int)],
                                  np.array([GAP], np.uint8)]) for name, c in _ANCHORS.items()}


def feature_mosaic(maps: np.ndarray, cols: int | None = None, scale=None) -> tuple[Paletted, tuple]:
    """(C, H, W) maps on one shared scale → (mosaic, (cmap, vmin, vmax))."""
    scale = scale or scale_for(maps)
    cols = cols or min(len(maps), 8)
    idx = grid(indices(maps, scale[1], scale[2], top=254), cols, fill=255)
    return Paletted(idx, PALETTES[scale[0]]), scale


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


def png(img) -> bytes:
    """uint8 gray (H, W), RGB(A) (H, W, 3|4) or a `Paletted` image → PNG bytes. Small images are
    written directly (signature, IHDR, [PLTE,] one IDAT of unfiltered rows, IEND): a map takes
    ~15 µs instead of PIL's ~180 µs, which is most of the cost of a drawing's dozen maps. Large
    ones go through PIL, whose row filters compress photos better."""
    palette = None
    if isinstance(img, Paletted):
        img, palette = img.idx, img.palette
    img = np.ascontiguousarray(img, dtype=np.uint8)
    h, w = img.shape[:2]
    channels = 1 if img.ndim == 2 else img.shape[2]
    if h * w > 256 * 256 or channels not in (1, 3, 4):
        buf = io.BytesIO()
        pil = Image.fromarray(img)
        if palette is not None:
            pil = pil.convert("P")
            pil.putpalette(palette.tobytes())
        pil.save(buf, format="PNG", compress_level=1)
        return buf.getvalue()
    rows = np.zeros((h, 1 + w * channels), np.uint8)  # each row: filter type 0, then its bytes
    rows[:, 1:] = img.reshape(h, -1)
    color = 3 if palette is not None else {1: 0, 3: 2, 4: 6}[channels]
    plte = _chunk(b"PLTE", np.ascontiguousarray(palette, np.uint8).tobytes()) if palette is not None else b""
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0)) + plte
            + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 1)) + _chunk(b"IEND", b""))


def data_uri(img: np.ndarray, lossy: bool = False) -> str:
    """PNG, so that every pixel of a small map stays an exact square; with `lossy`, photo-sized
    images go as JPEG, which encodes 20× faster and 3× smaller where single pixels are not the point."""
    if not lossy or img.shape[0] * img.shape[1] < 96 * 96:
        return "data:image/png;base64," + base64.b64encode(png(img)).decode("ascii")
    if isinstance(img, Paletted):
        img = img.rgb()
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=90)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
