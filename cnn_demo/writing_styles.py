"""MNIST's digits written the way much of the world writes them. MNIST's writers were
American: a 1 is one stroke, a 7 is never crossed, a 9's tail runs straight down. Across
continental Europe, Turkey and Latin America a 1 has a long up-stroke (so it looks like an
American 7), a 7 is crossed to tell it apart, and a 9's tail often curls left like a g's.
A network that never saw those reads such a 1 as 7 and such a 9 as 3.

Here a share of MNIST's 1s, 7s and 9s get that stroke added, with a round pen as wide as the
digit's own, at 4× resolution; the result goes through the Draw tab's preprocessing like the
`--drawn` digits it replaces. Pure numpy on the CPU: about 2 ms a digit.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image

from .preprocess import InputError, preprocess, stroke_width

UP = 4  # strokes are added at 112×112
STYLED = (1, 7, 9)  # the digits that get a stroke


def _pen(canvas: np.ndarray, points: np.ndarray, radius: float) -> None:
    """Ink a polyline ((K, 2) of x, y) onto `canvas` with a round, antialiased pen."""
    h, w = canvas.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = np.full((h, w), np.inf, np.float32)
    for (x0, y0), (x1, y1) in zip(points[:-1], points[1:]):
        vx, vy = x1 - x0, y1 - y0
        t = np.clip(((xx - x0) * vx + (yy - y0) * vy) / max(vx * vx + vy * vy, 1e-6), 0, 1)
        d = np.minimum(d, np.hypot(xx - x0 - t * vx, yy - y0 - t * vy))
    np.maximum(canvas, np.clip(radius + 0.5 - d, 0, 1), out=canvas)


def _bezier(p0, p1, p2, n: int = 12) -> np.ndarray:
    t = np.linspace(0, 1, n)[:, None]
    return (1 - t) ** 2 * np.asarray(p0) + 2 * (1 - t) * t * np.asarray(p1) + t ** 2 * np.asarray(p2)


def add_style(img: np.ndarray, label: int, rng: np.random.Generator) -> np.ndarray | None:
    """One MNIST digit (uint8 28×28, light ink on black) with its label's stroke added, as
    float32 ink in [0, 1] at 112×112; None where the digit's shape gives no place for it."""
    up = np.asarray(Image.fromarray(img).resize((28 * UP, 28 * UP), Image.Resampling.BILINEAR), np.float32) / 255
    m = up > 0.5
    rows, cols = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))
    if len(rows) < 8:
        return None
    top, bottom, left, right = rows[0], rows[-1], cols[0], cols[-1]
    h, w = bottom - top + 1, right - left + 1
    r = max(stroke_width(up) / 2, UP * 0.6)

    def u(lo, hi):
        return float(rng.uniform(lo, hi))

    if label == 7:  # a bar across the stem, a little below the middle
        y = int(top + h * u(0.45, 0.62))
        xs = np.flatnonzero(m[y])
        if not len(xs):
            return None
        sx, length = float(np.median(xs)), max(w, 0.5 * h) * u(0.35, 0.6)
        tilt = math.tan(math.radians(u(-8, 8))) * length
        a = u(0.4, 0.65)
        _pen(up, np.array([[sx - a * length, y + a * tilt], [sx + (1 - a) * length, y - (1 - a) * tilt]]), r)
    elif label == 1:  # a flag from the top, turned down and to the left of the stem; now and then a foot
        band = int(2 * r) + 1
        tx = float(np.flatnonzero(m[top:top + band].any(0)).mean())
        bx = float(np.flatnonzero(m[bottom - band + 1:bottom + 1].any(0)).mean())
        stem = math.atan2(h, bx - tx)  # 90° upright, more where the 1 leans right
        theta, length = min(stem + math.radians(u(25, 55)), math.radians(150)), h * u(0.2, 0.4)
        if theta - stem < math.radians(20):  # leaning so far that a flag would make it a 7
            return None
        y0 = top + r
        _pen(up, np.array([[tx, y0], [tx + length * math.cos(theta), y0 + length * math.sin(theta)]]), r)
        if rng.random() < 0.3:
            half = h * u(0.12, 0.22)
            _pen(up, np.array([[bx - half, bottom - r], [bx + half, bottom - r]]), r)
    elif label == 9:  # the tail's end curls to the left
        bx = float(np.flatnonzero(m[bottom - int(2 * r):bottom + 1].any(0)).mean())
        reach = h * u(0.25, 0.45)
        p0 = (bx, bottom - r)
        p1 = (bx - 0.1 * reach, bottom - r + 0.45 * reach)
        p2 = (bx - reach, bottom - r + u(-0.3, 0.15) * reach)
        _pen(up, _bezier(p0, p1, p2), r)
    else:
        return None
    return up


def styled(images: np.ndarray, labels: np.ndarray, share: float, seed: int = 0) -> dict[int, np.ndarray]:
    """For a `share` of the 1s, 7s and 9s among uint8 (N, 28, 28) MNIST digits: index →
    uint8 28×28, the digit with its stroke added as the Draw tab preprocesses it."""
    rng = np.random.default_rng(seed)
    out = {}
    for i in np.flatnonzero(np.isin(labels, STYLED) & (rng.random(len(labels)) < share)):
        up = add_style(images[i], int(labels[i]), rng)
        if up is None:
            continue
        try:
            out[int(i)] = np.round(preprocess(up, paper="dark").image * 255).astype(np.uint8)
        except InputError:
            continue
    return out
