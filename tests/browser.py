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


def draw(page, strokes, height_frac: float = 0.6, touch=None):
    """Draw strokes with the mouse (or, given a CDP session as `touch`, with a finger: touch
    events), scaled to `height_frac` of the visible canvas, centred."""
    from cnn_demo.strokes import place
    box = canvas_box(page)
    side = min(box["width"], box["height"])
    placed = place(strokes, height_frac, canvas=1000)
    ox = box["x"] + (box["width"] - side) / 2
    oy = box["y"] + (box["height"] - side) / 2

    def finger(kind, xy=None):
        points = [{"x": xy[0], "y": xy[1]}] if xy else []
        touch.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    def down(xy):
        if touch:
            return finger("touchStart", xy)
        page.mouse.move(*xy)
        page.mouse.down()

    def move(xy):
        return finger("touchMove", xy) if touch else page.mouse.move(*xy)

    def up():
        return finger("touchEnd") if touch else page.mouse.up()

    for st in placed:
        pts = [(ox + x * side / 1000, oy + y * side / 1000) for x, y in st]
        down(pts[0])
        for a, b in zip(pts, pts[1:]):
            for t in (0.25, 0.5, 0.75, 1.0):  # intermediate moves: a real hand is continuous
                move((a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t))
        up()


def top_label(page) -> str:
    return page.locator("#prediction h2, #prediction .output-class").first.inner_text().strip()
