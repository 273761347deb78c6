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


def draw(page, strokes, height_frac: float = 0.6, touch=None, steps: int = 4):
    """Draw strokes with the mouse (or, given a CDP session as `touch`, with a finger: touch
    events), scaled to `height_frac` of the visible canvas, centred; `steps` moves per segment
    (a real hand is continuous; headless Chromium paints the canvas in software, ~0.3 s a move)."""
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
            for t in [(i + 1) / steps for i in range(steps)]:
                move((a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t))
        up()


# a "1": one straight stroke, ten points — quick to draw where each mouse move costs a repaint
ONE = [[[0, y * 10] for y in range(10)]]


def top_label(page) -> str:
    return page.locator("#prediction h2, #prediction .output-class").first.inner_text().strip()


def wait_for(check, timeout: float = 30, what: str = "the page"):
    """Poll `check()` until it returns something truthy; fail with the last thing it returned."""
    import time
    end, last = time.time() + timeout, None
    while time.time() < end:
        try:
            last = check()
        except Exception as e:  # the element is being re-rendered
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.2)
    raise AssertionError(f"waited {timeout} s for {what}; last seen: {last!r}")


def text_of(page, selector: str) -> str:
    loc = page.locator(selector)
    return loc.first.inner_text() if loc.count() else ""


def wait_text(page, selector: str, needle: str, timeout: float = 30) -> str:
    """Wait until the element's text has `needle`; a failure quotes what it said instead."""
    seen = [""]

    def check():
        seen[0] = text_of(page, selector)
        return needle in seen[0] and seen[0]
    try:
        return wait_for(check, timeout, f"{needle!r} in {selector}")
    except AssertionError:
        raise AssertionError(f"waited {timeout} s for {needle!r} in {selector}; it said: {seen[0][-600:]!r}") from None


def pick(page, elem_id: str, option: str):
    """Choose an option of a dropdown, as a person does: open it, click the option."""
    page.locator(f"#{elem_id} input").first.click()
    page.get_by_role("option", name=option, exact=True).first.click()
    page.keyboard.press("Escape")


def set_number(page, elem_id: str, value):
    """Type a value into a number box or a slider's box, then leave it."""
    box = page.locator(f"#{elem_id} input[type=number]").first
    box.fill(str(value))
    box.press("Enter")
    box.blur()


def open_tab(page, name: str):
    page.get_by_role("tab", name=name).click()


def fresh(page, url: str):
    """A new page load: every test starts from the app as a visitor first sees it."""
    page.goto(url)
    canvas_box(page)
    wait_for(lambda: page.locator('#digits button[aria-label^="Put the MNIST test digit"]').count() == 10, 30,
             "the example digits")


def example(page, digit: int):
    page.locator(f'#digits button[aria-label="Put the MNIST test digit {digit} on the canvas"]').click()


def settled(page, quiet: float = 2.0, timeout: float = 30, watch=("#steps", "#stages")):
    """Wait until the Draw tab's answer (or the elements watched) stops changing: the last
    stroke's answer (or the last pick's) is in."""
    import json
    import time
    src = f"() => {json.dumps(list(watch))}.map(s => document.querySelector(s)?.innerHTML.length).join(':')"
    end, last, since = time.time() + timeout, None, time.time()
    while time.time() < end:
        now = page.evaluate(src)
        if now != last:
            last, since = now, time.time()
        elif time.time() - since >= quiet:
            return
        time.sleep(0.2)


def drawn(page, url: str, digit: int):
    """A fresh page with a real pen-drawn `digit` on the canvas, read and settled."""
    fresh(page, url)
    draw(page, pen_digit(digit, 0), steps=1)
    wait_for(lambda: top_label(page) == str(digit), 30, f"the drawn {digit} read")
    settled(page)


def selected_tab(page) -> str:
    return page.locator("[role=tab][aria-selected=true]").first.inner_text().strip()


def type_in_cell(page, cell, text: str):
    """Replace a grid cell's number as a learner does: double-click it, wait for its editor to
    take the focus (Gradio opens it a moment after the click), select all, type, Enter."""
    cell.dblclick()
    wait_for(lambda: page.evaluate("document.activeElement && document.activeElement.tagName === 'TEXTAREA'"), 10,
             "the cell's editor")
    page.keyboard.press("Control+a")
    page.keyboard.type(text)
    page.keyboard.press("Enter")
