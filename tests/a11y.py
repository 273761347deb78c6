"""axe-core (axe-playwright-python) over every tab of the app in Chromium: shared by the
accessibility test and `benchmarks/a11y.py`."""
from __future__ import annotations

import time

TABS = ["Draw", "Lessons", "Why this digit?", "What neurons look for", "Convolution playground", "Train & Hub"]
BAD = ("critical", "serious")


def open_accordions(page):
    """Open every closed accordion of the visible tab: what is inside is checked too."""
    for _ in range(3):  # an accordion can hold another
        closed = page.locator('.gr-accordion:visible > button.label-wrap[aria-expanded="false"]')
        if not closed.count():
            return
        for i in range(closed.count()):
            closed.nth(0).click()
            time.sleep(0.2)


def scan(page, axe=None) -> dict:
    """impact -> list of (rule id, number of nodes, first node's selector) on the page now."""
    from axe_playwright_python.sync_playwright import Axe
    found: dict = {}
    for v in (axe or Axe()).run(page).response["violations"]:
        found.setdefault(v["impact"], []).append((v["id"], len(v["nodes"]), v["nodes"][0]["target"]))
    return found


def settled(page, timeout: float = 60):
    """Wait until no visible output is still computing (Gradio dims a pending output, which
    axe rightly reads as low contrast): on a busy machine a knock-out can take seconds."""
    end = time.monotonic() + timeout
    busy = ("() => Array.from(document.querySelectorAll('.eta-bar, .meta-text, .meta-text-center'))"
            ".some(e => e.getBoundingClientRect().width > 0)")
    while page.evaluate(busy) and time.monotonic() < end:
        time.sleep(0.25)


def sweep(page, url: str, states=("blank", "drawn"), settle: float = 2.0):
    """Yield (state, tab, scan) for each tab with an empty canvas, then with a digit on it
    (an example digit, put there as a keyboard user would: Enter on its button)."""
    from axe_playwright_python.sync_playwright import Axe
    from browser import fresh
    axe = Axe()
    fresh(page, url)
    for state in states:
        if state == "drawn":
            page.get_by_role("tab", name="Draw").click()
            page.locator('#digits button[aria-label="Put the MNIST test digit 3 on the canvas"]').press("Enter")
            page.locator("#stages img").first.wait_for(timeout=30_000)
        for tab in TABS:
            page.get_by_role("tab", name=tab).click()
            time.sleep(settle)
            open_accordions(page)
            time.sleep(settle)
            settled(page)
            yield state, tab, scan(page, axe)
