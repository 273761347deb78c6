"""Pen strokes → the image the Draw tab's canvas delivers (ui/static/pad.js): black round-capped
lines on white at the app's canvas size and brush. Used to check the drawing path on
real pen-drawn digits without a browser."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

CANVAS = 400  # the Draw tab's canvas, in canvas pixels
BRUSH = 24  # the Draw tab's brush diameter, in canvas pixels (its eraser's is twice that)


def place(strokes, height_frac: float, cx_frac: float = 0.5, cy_frac: float = 0.5, canvas: int = CANVAS):
    """Scale strokes so the digit is `height_frac` of the canvas tall, centred at (cx, cy)."""
    pts = np.concatenate([np.asarray(s, float) for s in strokes if len(s)])
    lo, hi = pts.min(0), pts.max(0)
    size = max(hi[1] - lo[1], 1.0)
    s = height_frac * canvas / size
    mid = (lo + hi) / 2
    centre = np.array([cx_frac, cy_frac]) * canvas
    return [(np.asarray(st, float) - mid) * s + centre for st in strokes if len(st)]


def render(strokes, canvas: int = CANVAS, brush: int = BRUSH) -> np.ndarray:
    """uint8 (canvas, canvas): white background, black ink, round joins and caps."""
    img = Image.new("L", (canvas, canvas), 255)
    d = ImageDraw.Draw(img)
    r = brush / 2
    for st in strokes:
        pts = [tuple(p) for p in np.asarray(st, float)]
        if len(pts) > 1:
            d.line(pts, fill=0, width=brush, joint="curve")
        for x, y in pts:
            d.ellipse((x - r, y - r, x + r, y + r), fill=0)
    return np.asarray(img)


def random_placement(strokes, rng: np.random.Generator, canvas: int = CANVAS):
    """Where a person might draw: 35–85 % of the canvas tall, anywhere it fits."""
    pts = np.concatenate([np.asarray(s, float) for s in strokes if len(s)])
    w, h = np.ptp(pts[:, 0]) + 1, np.ptp(pts[:, 1]) + 1
    frac = rng.uniform(0.35, 0.85)
    half_w = min(0.5, frac * w / h / 2) + BRUSH / canvas
    half_h = frac / 2 + BRUSH / canvas
    cx = rng.uniform(half_w, 1 - half_w) if half_w < 0.5 else 0.5
    cy = rng.uniform(half_h, 1 - half_h) if half_h < 0.5 else 0.5
    return place(strokes, frac, cx, cy, canvas)
