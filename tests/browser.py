"""Shared helpers for the browser tests: Debian's Chromium driven by Playwright, and a
mouse that draws pen strokes on the Draw tab's canvas."""
from __future__ import annotations

import json
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PEN = Path(__file__).resolve().parents[2] / "shared" / "data" / "pendigits-dev" / "strokes.json"


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)


def pen_digit(label: int, index: int = 0):
    """Strokes of a real pen-drawn digit with this label (from the development set)."""
    digits = [d for d in json.loads(PEN.read_text()) if d["label"] == label]
    return digits[index]["strokes"]


def canvas_box(page):
    canvas = page.locator("#sketchpad canvas").first
    canvas.wait_for(state="visible", timeout=30_000)
    return canvas.bounding_box()


def draw(page, strokes, height_frac: float = 0.6):
    """Draw strokes with the mouse, scaled to `height_frac` of the visible canvas, centred."""
    from cnn_demo.strokes import place
    box = canvas_box(page)
    side = min(box["width"], box["height"])
    placed = place(strokes, height_frac, canvas=1000)
    ox = box["x"] + (box["width"] - side) / 2
    oy = box["y"] + (box["height"] - side) / 2
    for st in placed:
        pts = [(ox + x * side / 1000, oy + y * side / 1000) for x, y in st]
        page.mouse.move(*pts[0])
        page.mouse.down()
        for a, b in zip(pts, pts[1:]):
            for t in (0.25, 0.5, 0.75, 1.0):  # intermediate moves: a real hand is continuous
                page.mouse.move(a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)
        page.mouse.up()


def top_label(page) -> str:
    return page.locator("#prediction h2, #prediction .output-class").first.inner_text().strip()
