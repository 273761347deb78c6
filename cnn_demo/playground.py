"""Hand-made kernels and the conv → activation → pool chain, before any training.

CNN "convolution" is cross-correlation: the kernel is slid over the input unflipped and at
every position the element-wise products are summed. Everything here is plain torch on
(C, H, W) float arrays, checked in the tests against an independent numpy reference.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .limits import MAX_KERNEL, MAX_KERNELS, MAX_OUTPUT_VALUES, MAX_PADDING

PADDING_MODES = ("zeros", "reflect", "replicate")
ACTIVATIONS = ("none", "relu", "leaky_relu")
POOLINGS = ("none", "max", "avg")


class PlaygroundError(ValueError):
    """A setting that cannot be computed; the message says what to change."""


def _k(rows) -> np.ndarray:
    return np.array(rows, dtype=np.float32)


_LDRB = _k([[-1, -1, 1, 1]] * 4)  # left dark, right bright
PRESETS: dict[str, list[np.ndarray]] = {
    "Sobel x": [_k([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])],
    "Sobel y": [_k([[-1, -2, -1], [0, 0, 0], [1, 2, 1]])],
    "Gradient magnitude √(gx²+gy²)": [_k([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
                                       _k([[-1, -2, -1], [0, 0, 0], [1, 2, 1]])],
    "Box blur 3×3": [np.full((3, 3), 1 / 9, np.float32)],
    "Box blur 5×5": [np.full((5, 5), 1 / 25, np.float32)],
    "Vertical edge": [_k([[1, 0, -1]] * 3)],
    "Horizontal edge": [_k([[1, 0, -1]] * 3).T.copy()],
    "Laplacian": [_k([[0, 1, 0], [1, -4, 1], [0, 1, 0]])],
    "Sharpen": [_k([[0, -1, 0], [-1, 5, -1], [0, -1, 0]])],
    "Left dark / right bright bank (4 filters)": [_LDRB, -_LDRB, _LDRB.T.copy(), -_LDRB.T.copy()],
    "Identity": [_k([[0, 0, 0], [0, 1, 0], [0, 0, 0]])],
}
MAGNITUDE = "Gradient magnitude √(gx²+gy²)"


def parse_kernel(cells) -> np.ndarray:
    """A grid of cells (rows of strings or numbers, as a table gives them) → a float kernel.
    Empty trailing rows/columns are dropped; any other empty or non-numeric cell is an error.
    The grid's size is checked before a single cell is read: a table can be sent with any
    number of rows and columns, and only an 11×11 one is worth parsing."""
    if not isinstance(cells, (list, tuple)):
        raise PlaygroundError("The kernel must be a grid of numbers (rows of cells).")
    rows = list(cells)
    if any(not isinstance(r, (list, tuple)) for r in rows):
        raise PlaygroundError("The kernel must be a grid of numbers (rows of cells).")
    tall, wide = len(rows), max((len(r) for r in rows), default=0)
    if tall > MAX_KERNEL + 1 or wide > MAX_KERNEL + 1:  # one spare blank row/column is the table's own
        raise PlaygroundError(f"The kernel grid is {tall}×{wide}; the largest allowed is {MAX_KERNEL}×{MAX_KERNEL}.")
    rows = [list(r) for r in rows]

    def blank(v):
        return v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, float) and np.isnan(v))
    while rows and all(blank(v) for v in rows[-1]):
        rows.pop()
    if not rows:
        raise PlaygroundError("The kernel is empty: type numbers into the grid.")
    width = max(len(r) for r in rows)
    while width and all(len(r) < width or blank(r[width - 1]) for r in rows):
        width -= 1
    out = np.zeros((len(rows), width), np.float32)
    for i, r in enumerate(rows):
        for j in range(width):
            v = r[j] if j < len(r) else None
            if blank(v):
                raise PlaygroundError(f"Kernel cell (row {i + 1}, column {j + 1}) is empty: every cell needs a number.")
            try:
                out[i, j] = float(str(v).strip()[:40].replace("−", "-")) if isinstance(v, str) else float(v)
            except (TypeError, ValueError, OverflowError):
                raise PlaygroundError(f"Kernel cell (row {i + 1}, column {j + 1}) holds {str(v)[:20]!r}, "
                                      "which is not a number.") from None
    return check_kernels([out])[0]


def _shape(k) -> tuple | None:
    """The shape of nested lists (or an array) without converting them, or None if ragged: a
    hostile 'kernel' may hold millions of numbers, so levels with more elements than any
    allowed kernel are measured, not walked."""
    if isinstance(k, np.ndarray):
        return k.shape
    shape, level = [], [k]
    for _ in range(3):
        if not all(isinstance(x, (list, tuple)) for x in level):
            break
        n = {len(x) for x in level}
        if len(n) != 1:
            return None
        shape.append(n.pop())
        if len(level) * shape[-1] > 3 * (MAX_KERNEL + 1) ** 2:
            return tuple(shape)  # already too large: no need to look deeper
        level = [y for x in level for y in x]
    if any(isinstance(x, (list, tuple)) for x in level):
        return None
    return tuple(shape)


def check_kernels(kernels, channels: int | None = None) -> list[np.ndarray]:
    """Kernels as float32 arrays: 2-D (kh, kw), or 3-D (C, kh, kw) with one slice per channel."""
    if not isinstance(kernels, (list, tuple)) or not kernels:
        raise PlaygroundError("Give at least one kernel.")
    if len(kernels) > MAX_KERNELS:
        raise PlaygroundError(f"At most {MAX_KERNELS} kernels at once, not {len(kernels)}.")
    out = []
    for n, k in enumerate(kernels, 1):
        shape = _shape(k)
        if shape is None:
            raise PlaygroundError(f"Kernel {n} is not a rectangular grid of numbers.")
        if any(d > MAX_KERNEL for d in shape) or len(shape) == 3 and shape[0] > 3:
            raise PlaygroundError(f"Kernel {n} has shape {list(shape)}; the largest allowed is {MAX_KERNEL}×"
                                  f"{MAX_KERNEL} (or 3×{MAX_KERNEL}×{MAX_KERNEL} for a colour kernel).")
        try:
            a = np.asarray(k, dtype=np.float32)
        except (TypeError, ValueError, OverflowError):
            raise PlaygroundError(f"Kernel {n} is not a rectangular grid of numbers.") from None
        if a.ndim not in (2, 3) or 0 in a.shape:
            raise PlaygroundError(f"Kernel {n} must be a 2-D grid (or 3-D: one grid per colour channel), "
                                  f"got shape {list(a.shape)}.")
        if max(a.shape[-2:]) > MAX_KERNEL:
            raise PlaygroundError(f"Kernel {n} is {a.shape[-2]}×{a.shape[-1]}; the largest allowed is "
                                  f"{MAX_KERNEL}×{MAX_KERNEL}.")
        if a.ndim == 3 and a.shape[0] not in (1, 3):
            raise PlaygroundError(f"Kernel {n} has {a.shape[0]} slices; a 3-D kernel needs one per RGB channel (3).")
        if not np.isfinite(a).all():
            raise PlaygroundError(f"Kernel {n} holds NaN or infinity: use finite numbers.")
        if np.abs(a).max() > 1e6:
            raise PlaygroundError(f"Kernel {n} holds values beyond ±1,000,000.")
        out.append(a)
    shapes = {k.shape[-2:] for k in out}
    if len(shapes) > 1:
        raise PlaygroundError("All kernels applied together must have the same size; got "
                              + ", ".join(f"{h}×{w}" for h, w in sorted(shapes)) + ".")
    return out


def pads(padding, kh: int, kw: int, dilation: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right). "same" as PyTorch defines it: total d·(k−1), the extra
    row/column (even kernels) at the bottom/right."""
    if padding in ("valid", None, ""):
        return (0, 0, 0, 0)
    if padding == "same":
        th, tw = dilation * (kh - 1), dilation * (kw - 1)
        return (th // 2, th - th // 2, tw // 2, tw - tw // 2)
    try:
        f = float(str(padding)[:20]) if isinstance(padding, str) else float(padding)
    except (TypeError, ValueError, OverflowError):
        raise PlaygroundError(f"Padding must be 'valid', 'same' or a whole number, not {str(padding)[:20]!r}.") from None
    if not np.isfinite(f) or f != int(f) or not 0 <= f <= MAX_PADDING:
        raise PlaygroundError(f"Padding must be 'valid', 'same' or a whole number from 0 to {MAX_PADDING}, "
                              f"not {str(padding)[:20]!r}.")
    p = int(f)
    return (p, p, p, p)


def out_size(n: int, pad_total: int, f: int, s: int, d: int) -> int:
    return (n + pad_total - d * (f - 1) - 1) // s + 1


def span(k: int, d: int) -> int:
    """The pixels a k-wide kernel spans with dilation d: d·(k−1) + 1 (k itself when d = 1)."""
    return d * (k - 1) + 1


def formula(n: int, pad: tuple[int, int], f: int, s: int, d: int) -> str:
    """⌊(n + 2p − k)/s⌋ + 1 with the numbers in (2p = both sides' padding), the one form the
    app writes everywhere (the lessons, the Draw tab's layer table). With dilation the kernel's
    k is the span it covers, d·(k−1) + 1 (`span_note` says so first)."""
    total = pad[0] + pad[1]
    two_p = f"2·{pad[0]}" if pad[0] == pad[1] else f"({pad[0]}+{pad[1]})"
    return f"⌊({n} + {two_p} − {span(f, d)})/{s}⌋ + 1 = {out_size(n, total, f, s, d)}"


def span_note(kh: int, kw: int, d: int) -> str:
    """What dilation does to the formula's k, in numbers; "" without dilation."""
    if d == 1:
        return ""
    if kh == kw:
        return (f"dilation {d} makes the {kh}×{kw} kernel span {d}·({kh}−1)+1 = {span(kh, d)} pixels, "
                f"the k of the formula")
    return (f"dilation {d} makes the {kh}×{kw} kernel span {d}·({kh}−1)+1 = {span(kh, d)} by "
            f"{d}·({kw}−1)+1 = {span(kw, d)} pixels, the k of the formula")


@dataclass
class ChainResult:
    conv: np.ndarray  # (O, H', W')
    activated: np.ndarray
    pooled: np.ndarray | None
    final: np.ndarray
    formulas: dict = field(default_factory=dict)  # "height"/"width"/"pool height"... → filled-in formula


def _int(v, name, lo, hi) -> int:
    try:
        f = float(v)
    except (TypeError, ValueError, OverflowError):
        raise PlaygroundError(f"{name} must be a whole number, not {v!r}.") from None
    if not np.isfinite(f) or f != int(f):
        raise PlaygroundError(f"{name} must be a whole number, not {v!r}.")
    if not lo <= int(f) <= hi:
        raise PlaygroundError(f"{name} must be between {lo} and {hi}, not {int(f)}.")
    return int(f)


def convolve(image: np.ndarray, kernels, padding="same", stride=1, dilation=1, padding_mode="zeros",
             ) -> tuple[np.ndarray, dict]:
    """Cross-correlate (C, H, W) `image` with each kernel → (O, H', W') and the formulas.
    2-D kernels see the grayscale image (the channel mean when C = 3); 3-D kernels take
    one slice per channel and sum."""
    img = np.asarray(image, np.float32)
    if img.ndim == 2:
        img = img[None]
    ks = check_kernels(kernels)
    stride = _int(stride, "Stride", 1, 64)
    dilation = _int(dilation, "Dilation", 1, 16)
    if padding_mode not in PADDING_MODES:
        raise PlaygroundError(f"Padding mode must be one of {', '.join(PADDING_MODES)}, not {padding_mode!r}.")
    kh, kw = ks[0].shape[-2:]
    three_d = [k.ndim == 3 and k.shape[0] == 3 for k in ks]
    if any(three_d) and img.shape[0] != 3:
        raise PlaygroundError("3-D kernels (one slice per colour channel) need an RGB image.")
    gray = img.mean(0, keepdims=True) if img.shape[0] != 1 else img
    top, bottom, left, right = pads(padding, kh, kw, dilation)
    h, w = img.shape[1:]
    eff_h, eff_w = dilation * (kh - 1) + 1, dilation * (kw - 1) + 1
    if h + top + bottom < eff_h or w + left + right < eff_w:
        raise PlaygroundError(f"The kernel spans {eff_h}×{eff_w} pixels (with dilation {dilation}) but the padded "
                              f"image is only {h + top + bottom}×{w + left + right}: use a smaller kernel or more padding.")
    if padding_mode == "reflect" and max(top, bottom) >= h or padding_mode == "reflect" and max(left, right) >= w:
        raise PlaygroundError("Reflect padding must be smaller than the image; use less padding or another mode.")
    outs = []
    for k, is3 in zip(ks, three_d):
        src = torch.from_numpy(img if is3 else gray)[None]
        if top or bottom or left or right:
            mode = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate"}[padding_mode]
            src = F.pad(src, (left, right, top, bottom), mode=mode)
        weight = torch.from_numpy(k if is3 else k.reshape(1, kh, kw))[None]
        outs.append(F.conv2d(src, weight, stride=stride, dilation=dilation)[0, 0])
    out = torch.stack(outs).numpy()
    formulas = {"height": formula(h, (top, bottom), kh, stride, dilation),
                "width": formula(w, (left, right), kw, stride, dilation)}
    if dilation > 1:
        formulas["span"] = span_note(kh, kw, dilation)
    return out, formulas


def activate(x: np.ndarray, kind: str = "none", slope: float = 0.01) -> np.ndarray:
    if kind not in ACTIVATIONS:
        raise PlaygroundError(f"Activation must be one of {', '.join(ACTIVATIONS)}, not {kind!r}.")
    try:
        slope = float(slope)
    except (TypeError, ValueError, OverflowError):
        raise PlaygroundError(f"The LeakyReLU slope must be a number, not {slope!r}.") from None
    if kind == "relu":
        return np.maximum(x, 0)
    if kind == "leaky_relu":
        if not (np.isfinite(slope) and 0 <= slope <= 1):
            raise PlaygroundError(f"The LeakyReLU slope must be between 0 and 1, not {slope}.")
        return np.where(x >= 0, x, np.float32(slope) * x).astype(np.float32)
    return x


def pool(x: np.ndarray, kind: str = "max", kernel=2, stride=2) -> tuple[np.ndarray, dict]:
    if kind not in POOLINGS:
        raise PlaygroundError(f"Pooling must be one of {', '.join(POOLINGS)}, not {kind!r}.")
    k = _int(kernel, "Pool size", 1, 32)
    s = _int(stride, "Pool stride", 1, 32)
    h, w = x.shape[-2:]
    if k > h or k > w:
        raise PlaygroundError(f"The {k}×{k} pooling window is larger than the {h}×{w} map it pools.")
    t = torch.from_numpy(np.ascontiguousarray(x))[None]
    out = (F.max_pool2d if kind == "max" else F.avg_pool2d)(t, k, s)[0].numpy()
    return out, {"pool height": formula(h, (0, 0), k, s, 1), "pool width": formula(w, (0, 0), k, s, 1)}


def chain(image, kernels, padding="same", stride=1, dilation=1, padding_mode="zeros", activation="none",
          slope=0.01, pooling="none", pool_kernel=2, pool_stride=2) -> ChainResult:
    """conv → activation → pool, every intermediate kept."""
    conv, formulas = convolve(image, kernels, padding, stride, dilation, padding_mode)
    act = activate(conv, activation, slope)
    pooled = None
    if pooling != "none":
        pooled, pf = pool(act, pooling, pool_kernel, pool_stride)
        formulas.update(pf)
    elif pooling not in POOLINGS:
        raise PlaygroundError(f"Pooling must be one of {', '.join(POOLINGS)}, not {pooling!r}.")
    return ChainResult(conv, act, pooled, pooled if pooled is not None else act, formulas)


def check_output_size(result: ChainResult) -> None:
    """The /convolve API answers with numbers, not pictures: bounded, so one request cannot
    make the server build hundreds of megabytes of JSON."""
    n = int(np.prod(result.final.shape))
    if n > MAX_OUTPUT_VALUES:
        shape = "×".join(map(str, result.final.shape))
        raise PlaygroundError(f"The output would be {shape} = {n:,} numbers; /convolve returns at most "
                              f"{MAX_OUTPUT_VALUES:,}: use fewer kernels, a stride or pooling, or a smaller image.")


def magnitude(gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    return np.sqrt(gx.astype(np.float32) ** 2 + gy.astype(np.float32) ** 2)


@dataclass
class Window:
    row: int  # output cell
    col: int
    top: int  # window's top-left in the padded input
    left: int
    patch: np.ndarray  # the input values under the kernel (kh, kw)
    products: np.ndarray  # patch * kernel
    total: float


def conv_window(image2d: np.ndarray, kernel: np.ndarray, index: int, padding="valid", stride=1, dilation=1,
                padding_mode="zeros") -> tuple[Window, np.ndarray, int]:
    """The `index`-th kernel position (row-major) on a small grayscale image: the patch it
    covers, the products and their sum. Also returns the padded image and the number of positions."""
    kh, kw = kernel.shape
    top, bottom, left, right = pads(padding, kh, kw, dilation)
    mode = {"zeros": "constant", "reflect": "reflect", "replicate": "edge"}[padding_mode]
    padded = np.pad(image2d.astype(np.float32), ((top, bottom), (left, right)), mode=mode)
    oh = out_size(image2d.shape[0], top + bottom, kh, stride, dilation)
    ow = out_size(image2d.shape[1], left + right, kw, stride, dilation)
    if oh < 1 or ow < 1:
        raise PlaygroundError("The kernel does not fit in the (padded) image.")
    n = oh * ow
    index = int(np.clip(index, 0, n - 1))
    r, c = divmod(index, ow)
    t, l = r * stride, c * stride
    patch = padded[t: t + dilation * (kh - 1) + 1: dilation, l: l + dilation * (kw - 1) + 1: dilation]
    prod = patch * kernel
    return Window(r, c, t, l, patch, prod, float(prod.sum(dtype=np.float64))), padded, n


def pool_window(x2d: np.ndarray, index: int, kind="max", k=2, s=2) -> tuple[Window, int]:
    oh, ow = out_size(x2d.shape[0], 0, k, s, 1), out_size(x2d.shape[1], 0, k, s, 1)
    n = oh * ow
    index = int(np.clip(index, 0, n - 1))
    r, c = divmod(index, ow)
    patch = x2d[r * s: r * s + k, c * s: c * s + k]
    val = float(patch.max() if kind == "max" else patch.mean())
    return Window(r, c, r * s, c * s, patch, patch, val), n


def random_bank(seed: int, in_channels: int = 3, out_channels: int = 8, k: int = 3) -> np.ndarray:
    """A freshly initialised Conv2d(3 → 8)'s weights (PyTorch's default init), seeded."""
    g = torch.Generator().manual_seed(int(seed))
    conv = torch.nn.Conv2d(in_channels, out_channels, k, bias=False)
    bound = 1 / np.sqrt(in_channels * k * k)
    with torch.no_grad():
        conv.weight.uniform_(-bound, bound, generator=g)
    return conv.weight.detach().numpy()
