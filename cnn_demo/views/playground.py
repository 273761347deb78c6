"""The playground's computations turned into what the tab shows (HTML), and the
/convolve API's result. No gradio here: the tab only wires widgets to `render_all`."""
from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np

from . import common, render
from .. import playground as pg

SMALL = 16  # images up to this size get the step-by-step view


@dataclass
class Settings:
    kernels: list  # arrays
    names: list  # a caption per kernel
    padding: object = "same"
    stride: int = 1
    dilation: int = 1
    padding_mode: str = "zeros"
    activation: str = "none"
    slope: float = 0.01
    pooling: str = "none"
    pool_kernel: int = 2
    pool_stride: int = 2
    magnitude: bool = False  # combine the two Sobel outputs into √(gx²+gy²)


def settings(names, grid_rows, padding, mode, stride, dilation, act, slope, pool, pk, ps,
             custom: str = "Custom (the grid)") -> Settings:
    """The playground's choices as Settings: the named presets (a preset may hold several
    kernels) and, for `custom`, the typed grid; every kernel checked before anything runs."""
    names = names or ["Sobel x"]
    ks, labels = [], []
    for n in names:
        if n == custom:
            ks.append(pg.parse_kernel(grid_rows))
            labels.append("custom")
            continue
        if n not in pg.PRESETS:
            raise pg.PlaygroundError(f"No kernel preset named {str(n)[:40]!r}.")
        for i, k in enumerate(pg.PRESETS[n]):
            ks.append(k)
            labels.append(n if len(pg.PRESETS[n]) == 1 else f"{n.split(' (')[0].split(' √')[0]} #{i + 1}")
    sizes = {k.shape[-2:] for k in ks}
    if custom in names and len(sizes) > 1:
        grid = next(k for k, n in zip(ks, labels) if n == "custom").shape
        others = sorted({f"{k.shape[-2]}×{k.shape[-1]}" for k, n in zip(ks, labels) if n != "custom"})
        raise pg.PlaygroundError(f"Your grid is {grid[0]}×{grid[1]} but the other kernels chosen are "
                                 f"{' and '.join(others)}: kernels applied together must have one size. Take the "
                                 "others out of Kernels, or give the grid their size.")
    return Settings(pg.check_kernels(ks), labels, padding, stride, dilation, mode, act, slope, pool, pk, ps,
                    magnitude=names == [pg.MAGNITUDE])


def step_views(img, s: Settings, i: int, j: int) -> tuple[str, int, str, int]:
    """The step-by-step views of a tiny grayscale image: the first kernel at position i, and a
    pooling window at position j over its activated map; with how many positions each has."""
    a = np.asarray(img)
    if a.ndim != 2 or max(a.shape) > SMALL:
        msg = '<p class="cx-sub">The step-by-step view needs a small grayscale input (a tiny squares image).</p>'
        return msg, 1, "", 1
    k = s.kernels[0]
    if k.ndim == 3:
        k = k[0]
    w, n = walk_html(a, k, int(i), s)
    conv, _ = pg.convolve(a, [k], s.padding, s.stride, s.dilation, s.padding_mode)
    fmap = pg.activate(conv, s.activation, s.slope)[0]
    kind = s.pooling if s.pooling != "none" else "max"
    try:
        p, pn = pool_walk_html(fmap, int(j), kind, int(s.pool_kernel), int(s.pool_stride))
    except pg.PlaygroundError as e:
        p, pn = common.warning_html(e), 1
    return w, n, p, pn


def kernel_html(kernels, names) -> str:
    """The kernels as numbers on a diverging background; say it is cross-correlation."""
    parts = []
    for k, n in zip(kernels, names):
        k = np.asarray(k, np.float32)
        m = float(np.abs(k).max()) or 1.0
        scale = ("diverging", -m, m)
        if k.ndim == 3:
            grids = "".join(f"<div><h3>{c}</h3>{common.number_grid(k[i], fmt='{:g}', cmap_scale=scale)}</div>"
                            for i, c in enumerate("RGB"[:k.shape[0]]))
        else:
            grids = common.number_grid(k, fmt="{:g}", cmap_scale=scale)
        parts.append(f'<div><h3>{html.escape(n)} ({"×".join(map(str, k.shape))})</h3><div class="cx-walk">{grids}</div></div>')
    note = ('<p class="cx-sub">A CNN\'s "convolution" is cross-correlation: the kernel slides over the image '
            "as written here (not flipped), and each output value is the sum of the kernel times the pixels under it.</p>")
    if "custom" in names:
        note += ('<p class="cx-sub cx-custom-note">“custom” is the grid you type in (Custom kernel): every map '
                 "below follows your edits. Take “Custom (the grid)” out of Kernels to leave it out.</p>")
    return note + '<div class="cx-walk">' + "".join(parts) + "</div>"


def run(image: np.ndarray, s: Settings) -> tuple[pg.ChainResult, np.ndarray, list[str]]:
    """The chain on `image`; with `magnitude`, the first two outputs become √(gx²+gy²)."""
    res = pg.chain(image, s.kernels, s.padding, s.stride, s.dilation, s.padding_mode, s.activation, s.slope,
                   s.pooling, s.pool_kernel, s.pool_stride)
    names = list(s.names)
    if s.magnitude and len(res.conv) >= 2:
        mag = pg.magnitude(res.conv[0], res.conv[1])[None]
        conv = np.concatenate([res.conv, mag])
        act = pg.activate(conv, s.activation, s.slope)
        pooled = pg.pool(act, s.pooling, s.pool_kernel, s.pool_stride)[0] if s.pooling != "none" else None
        res = pg.ChainResult(conv, act, pooled, pooled if pooled is not None else act, res.formulas)
        names.append("√(gx² + gy²)")
    return res, res.final, names


def chain_html(image: np.ndarray, s: Settings, note: str = "") -> str:
    res, _, names = run(image, s)
    img = np.asarray(image, np.float32)
    h, w = img.shape[-2:]
    parts = []
    chans = "grayscale" if img.ndim == 2 else "RGB (2-D kernels see the mean of R, G and B)"
    parts.append(common.rgb_card("Input", f"{h}×{w}, {chans}{note}", img))
    shape = "×".join(map(str, res.conv.shape))
    span = f"{res.formulas['span']}; " if res.formulas.get("span") else ""
    sizes = (f"{span}output size ⌊(n + 2p − k)/s⌋ + 1: height {res.formulas['height']}, width "
             f"{res.formulas['width']} → actual output {shape} (channels × height × width)")
    scale = render.scale_for(res.conv)
    parts.append(common.maps_card(
        "1 · Convolution", f"{sizes}. One shared colour scale: red positive, blue negative, white 0.",
        res.conv, names, scale))
    if s.activation != "none":
        act_scale = scale  # the same scale before and after, so the change is visible
        label = "ReLU" if s.activation == "relu" else f"LeakyReLU (slope {float(s.slope):g})"
        parts.append(common.maps_card(
            f"2 · {label}", "after the activation, on the same scale as before it: negatives "
            + ("vanish" if s.activation == "relu" else "shrink"), res.activated, names, act_scale))
    if res.pooled is not None:
        pshape = "×".join(map(str, res.pooled.shape))
        parts.append(common.maps_card(
            f"3 · {s.pooling} pooling {int(s.pool_kernel)}×{int(s.pool_kernel)}, stride {int(s.pool_stride)}",
            f"height {res.formulas['pool height']}, width {res.formulas['pool width']} → actual {pshape}",
            res.pooled, names, render.scale_for(res.pooled)))
    return '<div class="cx-stages">' + "".join(parts) + "</div>"


def walk_html(image2d: np.ndarray, kernel: np.ndarray, index: int, s: Settings) -> tuple[str, int]:
    """One kernel position on a small image: the window, the products, the sum, the output cell."""
    win, padded, n = pg.conv_window(image2d, kernel, index, s.padding, s.stride, s.dilation, s.padding_mode)
    out, _ = pg.convolve(image2d, [kernel], s.padding, s.stride, s.dilation, s.padding_mode)
    kh, kw = kernel.shape
    terms = " + ".join(f"({p:.2g}·{k:.2g})" for p, k in zip(win.patch.ravel(), kernel.ravel()))
    vscale = render.scale_for(out[0])
    pad_note = "" if padded.shape == image2d.shape else f" (padded to {padded.shape[0]}×{padded.shape[1]})"
    body = (f'<div class="cx-walk">'
            f"<div><h3>input{pad_note}: window at row {win.top}, column {win.left}</h3>"
            f"{common.number_grid(padded, (win.top, win.left, kh, kw, s.dilation), '{:.2g}', ('gray', 0, 1))}</div>"
            f"<div><h3>kernel</h3>{common.number_grid(kernel, fmt='{:.3g}')}</div>"
            f"<div><h3>products</h3>{common.number_grid(win.products, fmt='{:.2g}')}</div>"
            f"<div><h3>output {out.shape[1]}×{out.shape[2]}: cell ({win.row}, {win.col})</h3>"
            f"{common.number_grid(out[0], None, '{:.2g}', vscale, (win.row, win.col))}</div></div>"
            f'<p class="cx-sum">sum = {terms} = <b>{win.total:.4g}</b></p>')
    return common.card(f"Step {index + 1} of {n}", "the kernel's window (orange) and the output cell it fills (red)",
                           body), n


def pool_walk_html(x2d: np.ndarray, index: int, kind: str, k: int, s: int) -> tuple[str, int]:
    win, n = pg.pool_window(x2d, index, kind, k, s)
    out, _ = pg.pool(x2d[None], kind, k, s)
    what = "largest" if kind == "max" else "mean"
    body = (f'<div class="cx-walk"><div><h3>feature map: window at row {win.top}, column {win.left}</h3>'
            f"{common.number_grid(x2d, (win.top, win.left, k, k), '{:.2g}', render.scale_for(x2d))}</div>"
            f"<div><h3>pooled {out.shape[1]}×{out.shape[2]}: cell ({win.row}, {win.col})</h3>"
            f"{common.number_grid(out[0], None, '{:.2g}', render.scale_for(out[0]), (win.row, win.col))}</div></div>"
            f'<p class="cx-sum">{what} of {", ".join(f"{v:.2g}" for v in win.patch.ravel())} = <b>{win.total:.4g}</b></p>')
    return common.card(f"Pooling window {index + 1} of {n}", f"{kind} pooling {k}×{k}, stride {s}", body), n


def colour_html(image: np.ndarray, seed: int, s: Settings) -> str:
    """RGB only: channels, grayscale vs one channel, a 3×3×3 bank, a random Conv2d(3 → 8)."""
    img = np.asarray(image, np.float32)
    if img.ndim != 3:
        return '<p class="cx-sub">Choose an RGB image (a photo or the road scene) to see the colour views.</p>'
    parts = [common.maps_card("Channels", "red, green and blue as separate grayscale maps (0 → 1)",
                                  img, ["R", "G", "B"], ("gray", 0.0, 1.0), tile=200)]
    sobel = pg.PRESETS["Sobel x"][0]
    gray_out, _ = pg.convolve(img, [sobel], "same")
    red_out, _ = pg.convolve(img[:1], [sobel], "same")
    both = np.concatenate([gray_out, red_out])
    parts.append(common.maps_card(
        "Grayscale versus one channel", "Sobel x on the grayscale image and on the red channel alone: "
        "edges between colours of equal brightness only show in one of them", both,
        ["Sobel x on grayscale", "Sobel x on red only"], tile=200))
    bank = np.stack([sobel, np.zeros_like(sobel), -sobel])  # red edges minus blue edges
    bank_out, _ = pg.convolve(img, [bank], "same")
    parts.append(common.card("A 3×3×3 filter bank", "one 3×3 kernel per input channel (R: Sobel x, G: zeros, "
                                 "B: −Sobel x); the three results are summed into one output map",
                                 kernel_html([bank], ["R / G / B slices"])))
    parts.append(common.maps_card("Its output", "one map: where red brightens left-to-right while blue does not",
                                      bank_out, ["3×3×3 bank"], tile=200))
    w = pg.random_bank(seed)
    rand_out, _ = pg.convolve(img, list(w), "same")
    parts.append(common.maps_card(
        f"A random Conv2d(3 → 8), seed {seed}", "8 filters of shape 3×3×3 with PyTorch's initial random weights: "
        "before training, a layer's feature maps are blurry mixtures", rand_out,
        [f"filter {i + 1}" for i in range(8)], tile=150))
    return '<div class="cx-stages">' + "".join(parts) + "</div>"


def api_result(final: np.ndarray) -> dict:
    return {"shape": list(final.shape), "channels": np.asarray(final, np.float64).round(6).tolist()}
