"""Probe results → self-contained HTML: captioned mosaics, barcodes and legends.

Inline data-URI PNGs keep a drawing's round trip to one response (no image files for
the server to cache and the browser to fetch), which is both faster and immune to file
cache races under load.
"""
from __future__ import annotations

import html
import re

import numpy as np

from . import render
from .. import probe
from ..preprocess import Preprocessed

MAX_W = 540  # display width budget of one card's image, in CSS pixels

_MD_SPECIAL = re.compile(r"([\\`*_\[\]~$])")  # emphasis, code, links and images, strikethrough, LaTeX
_AUTOLINK = re.compile(r"(://|www\.)", re.IGNORECASE)


def md_text(s) -> str:
    """Any text as it must appear inside Markdown: HTML characters as entities, the characters
    that make emphasis, code, links, images or formulas escaped, and URLs broken by a
    zero-width space so they are not turned into links — on one line. A name, a tensor name or
    an error that came from a visitor or a Hub file then shows as the text it is."""
    flat = " ".join(str(s).split())
    text = _MD_SPECIAL.sub(r"\\\1", html.escape(flat, quote=False))
    return _AUTOLINK.sub(lambda m: m.group(1)[:-1] + "\u200b" + m.group(1)[-1], text)


def fmt(v: float) -> str:
    return f"{v:.3g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.1e}"


def legend(scale: tuple) -> str:
    cmap, lo, hi = scale
    mid = '<span>0</span>' if cmap == "diverging" else ""
    return (f'<div class="cx-legend"><div class="cx-bar" style="background:{render.css_gradient(cmap)}"></div>'
            f'<div class="cx-ticks"><span>{fmt(lo)}</span>{mid}<span>{fmt(hi)}</span></div></div>')


def img_tag(rgb: np.ndarray, alt: str, width: int | None = None, height: int | None = None,
            lossy: bool = False, attrs: str = "") -> str:
    h, w = rgb.shape[:2]
    if width is None:
        zoom = max(1, min(12, MAX_W // max(w, 1)))
        width, height = w * zoom, h * zoom
    height = height if height is not None else round(h * width / w)
    # the aspect ratio lets a narrow screen (a phone) shrink the image without distorting it
    style = f"width:{width}px;height:{height}px;aspect-ratio:{width}/{height}"
    return f'<img class="cx-px" src="{render.data_uri(rgb, lossy)}" alt="{html.escape(alt)}" style="{style}"{attrs}>'


def card(title: str, subtitle: str, body: str, scale: tuple | None = None) -> str:
    return (f'<figure class="cx-card"><figcaption><b>{html.escape(title)}</b> '
            f'<span class="cx-sub">{html.escape(subtitle)}</span></figcaption>{body}'
            f'{legend(scale) if scale else ""}</figure>')


def steps_html(pre: Preprocessed) -> str:
    """What the network sees, and the MNIST-style steps that made it."""
    t, l, b, r = pre.bbox
    notes = {
        "ink": f"your drawing as ink (white = ink); the ink's box: rows {t}–{b}, columns {l}–{r}",
        "cropped": "cropped to the ink's bounding box",
        "stroke width": f"strokes brought to MNIST's width (yours: {pre.stroke_width:.0%} of the digit's size)",
        "fit 20×20": "shrunk to fit a 20×20 box, keeping the aspect ratio",
        "centred (28×28)": "placed in 28×28 with its centre of mass in the middle: this is the input",
    }
    parts = []
    for name, img in pre.steps.items():
        if max(img.shape) > 160:  # the full canvas: a thumbnail is enough
            step = int(np.ceil(max(img.shape) / 160))
            img = img[::step, ::step]
        g = render.gray(img)
        h, w = g.shape
        zoom = 84 / max(h, w)
        tag = img_tag(g, f"{name}: {notes.get(name, '')} ({w}×{h} pixels)", round(w * zoom), round(h * zoom))
        parts.append(f'<figure class="cx-step">{tag}<figcaption><b>{html.escape(name)}</b><br>'
                     f'{html.escape(notes.get(name, ""))}</figcaption></figure>')
    return '<div class="cx-steps">' + '<span class="cx-arrow">→</span>'.join(parts) + "</div>"


def filters_html(filters: dict[str, np.ndarray], max_width: int = MAX_W + 60) -> str:
    cards = []
    for name, w in filters.items():
        o, i, kh, kw = w.shape
        rgb, scale = render.filter_mosaic(w)
        layout = (f"{o} kernels of {kh}×{kw}" if i == 1 else
                  f"{o} filters, each {i} kernels of {kh}×{kw} (one per input map, in a framed block)")
        sub = f"{layout} · one shared scale: red adds, blue subtracts · weights {fmt(float(w.min()))} … {fmt(float(w.max()))}"
        zoom = max(1, min(24, max_width // rgb.shape[1]))
        alt = f"{name} filters: {layout}; weights {fmt(float(w.min()))} to {fmt(float(w.max()))}, red adds, blue subtracts"
        cards.append(card(f"{name} filters", sub, img_tag(rgb, alt, rgb.shape[1] * zoom, rgb.shape[0] * zoom), scale))
    return '<div class="cx-stages">' + "".join(cards) + "</div>"


def layer_table_html(rows: list[dict]) -> str:
    head = "".join(f'<th scope="col">{h}</th>' for h in
                   ("stage", "output", "parameters", "multiply-adds", "output size ⌊(n + 2p − k)/s⌋ + 1"))
    head = f"<tr>{head}</tr>"
    body = "".join(
        f"<tr><td>{html.escape(r['stage'])}</td><td>{r['output']}</td><td>{r['params']:,}</td>"
        f"<td>{r['macs']:,}</td><td>{html.escape(r['formula'])}</td></tr>" for r in rows)
    total_p, total_m = sum(r["params"] for r in rows), sum(r["macs"] for r in rows)
    foot = f'<tr><th scope="row">total</th><td></td><td><b>{total_p:,}</b></td><td><b>{total_m:,}</b></td><td></td></tr>'
    return f'<table class="cx-table">{head}{body}{foot}</table>'




def maps_card(title: str, subtitle: str, maps: np.ndarray, names: list[str] | None = None,
              scale: tuple | None = None, tile: int = 240) -> str:
    """Several same-sized maps side by side on one scale (given, or computed from them),
    each captioned: the playground's way of showing channels to compare."""
    maps = np.asarray(maps, np.float32)
    if maps.ndim == 2:
        maps = maps[None]
    scale = scale or render.scale_for(maps)  # from the full-resolution values
    maps = render.fit(maps, 2 * tile)  # no need to encode more pixels than a screen shows
    h, w = maps.shape[1:]
    zoom = tile / max(h, w)
    width, height = max(1, round(w * zoom)), max(1, round(h * zoom))
    figs = []
    for i, m in enumerate(maps):
        name = names[i] if names and i < len(names) else f"channel {i + 1}"
        lossy = max(h, w) > 64  # photo-sized maps: JPEG; small ones stay exact PNG
        alt = f"{title}, {name}: a {h}×{w} map, values {fmt(float(m.min()))} to {fmt(float(m.max()))}"
        figs.append(f'<figure class="cx-map">{img_tag(render.colorize(m, *scale), alt, width, height, lossy)}'
                    f"<figcaption>{html.escape(name)}</figcaption></figure>")
    return card(title, subtitle, f'<div class="cx-maps">{"".join(figs)}</div>', scale)


def rgb_card(title: str, subtitle: str, image: np.ndarray, tile: int = 240) -> str:
    """An image as it is: grayscale (H, W) or colour (3, H, W), values in [0, 1]."""
    a = render.fit(np.asarray(image, np.float32), 2 * tile)
    rgb = np.repeat(a[..., None], 3, 2) if a.ndim == 2 else a.transpose(1, 2, 0)
    rgb = (np.clip(rgb, 0, 1) * 255).round().astype(np.uint8)
    h, w = rgb.shape[:2]
    zoom = tile / max(h, w)
    return card(title, subtitle,
                img_tag(rgb, f"{title}: {subtitle}", max(1, round(w * zoom)), max(1, round(h * zoom)), max(h, w) > 64))


def number_grid(values: np.ndarray, box: tuple | None = None, fmt: str = "{:.2f}", cmap_scale: tuple | None = None,
                mark: tuple | None = None) -> str:
    """A small array as a table of numbers; cells in `box` (top, left, h, w[, step]) are
    outlined, the cell `mark` (row, col) is filled: the step-by-step view's picture."""
    rows = []
    t = l = bh = bw = step = None
    if box:
        t, l, bh, bw = box[:4]
        step = box[4] if len(box) > 4 else 1
    for i, row in enumerate(np.asarray(values)):
        cells = []
        for j, v in enumerate(row):
            cls = []
            if box and t <= i < t + (bh - 1) * step + 1 and l <= j < l + (bw - 1) * step + 1 \
                    and (i - t) % step == 0 and (j - l) % step == 0:
                cls.append("cx-in")
            if mark and (i, j) == tuple(mark):
                cls.append("cx-mark")
            style = ""
            if cmap_scale:
                r, g, b = render.colorize(np.array([v], np.float32), *cmap_scale)[0]
                ink = "#000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#fff"
                style = f' style="background:rgb({r},{g},{b});color:{ink}"'
            cells.append(f'<td class="{" ".join(cls)}"{style}>{fmt.format(float(v) + 0.0)}</td>')  # no "-0"
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="cx-grid">{"".join(rows)}</table>'


def checkpoint_filters_html(entry) -> str:
    """A checkpoint's filter mosaics: the same for every drawing, so made once per registry entry."""
    return entry.cached("filters_html", lambda: filters_html(probe.filters(entry.ck.model)))


def checkpoint_table_html(entry) -> str:
    return entry.cached("table_html", lambda: layer_table_html(probe.layer_table(entry.ck.model)))


def warning_html(message) -> str:
    """A refusal inside an HTML output: the message as text, never as markup."""
    return f'<p class="cx-sub">⚠️ {html.escape(str(message))}</p>'
