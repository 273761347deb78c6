"""Accessibility and dark mode, in Chromium: axe-core finds nothing critical or serious on
any tab, with an empty canvas and with a digit on it, every accordion open, in light mode,
with `?__theme=dark` and with a system in dark mode; in dark mode the canvas stays white
paper with black ink. With CNN_DEMO_SHOTS set, every tab is saved as a screenshot."""
import io
import os

import numpy as np
import pytest
from PIL import Image

from a11y import BAD, sweep
from browser import CHROMIUM

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)
pytest.importorskip("axe_playwright_python")
pytest.importorskip("playwright.sync_api")  # the browser fixture (conftest) drives it

LOOKS = {"light": ("light", ""), "dark-param": ("light", "?__theme=dark"), "dark-system": ("dark", "")}


def luminance(page, selector: str) -> float:
    """Relative luminance (0 black … 1 white) of an element's painted pixels, from a screenshot."""
    img = Image.open(io.BytesIO(page.locator(selector).first.screenshot())).convert("L")
    return float(np.asarray(img, float).mean() / 255)


def paper(page) -> np.ndarray:
    """The middle of the canvas as painted (the paper is centred; the toolbars sit at its edges)."""
    img = np.asarray(Image.open(io.BytesIO(page.locator("#sketchpad canvas").first.screenshot())).convert("L"))
    h, w = img.shape
    r = int(min(h, w) * 0.4)
    return img[h // 2 - r:h // 2 + r, w // 2 - r:w // 2 + r]


@pytest.mark.parametrize("look", list(LOOKS))
def test_no_critical_or_serious_violation_on_any_tab(browser, app_url, look):
    scheme, query = LOOKS[look]
    page = browser.new_page(viewport={"width": 1300, "height": 1000}, color_scheme=scheme)
    shots = os.environ.get("CNN_DEMO_SHOTS")
    bad = {}
    try:
        for state, tab, found in sweep(page, app_url + query):
            if tab == "Draw":
                ink = paper(page)
                # white paper whatever the page's theme; black ink once a digit is on it
                white = np.mean(ink > 240)
                assert white > (0.99 if state == "blank" else 0.5), f"{look}, {state}: {white:.0%} white paper"
                assert (ink.min() < 40) == (state == "drawn"), f"{look}, {state}: ink {ink.min()}"
                dark = page.evaluate("document.body.classList.contains('dark') "
                                     "|| document.documentElement.classList.contains('dark')")
                assert dark == (look != "light"), f"{look}: the page's dark class is {dark}"
                assert (luminance(page, "body") < 0.3) == (look != "light")
            if state == "drawn":
                # every image the app made says what it shows: a name, and its values or shape
                # (a picture inside a named button, an example digit, is told by the button's name)
                alts = page.evaluate("Array.from(document.querySelectorAll('[role=tabpanel] img'))"
                                     ".filter(i => i.getBoundingClientRect().width > 0"
                                     " && !i.closest('button[aria-label], [role=button][aria-label]')).map(i => i.alt)")
                vague = [a for a in alts if len(a) < 12]
                assert not vague, f"{look}, {tab}: images without a telling alt text: {vague}"
                if tab == "Draw":
                    maps = page.evaluate("Array.from(document.querySelectorAll('#stages [data-stage]'))"
                                         ".map(e => e.getAttribute('aria-label'))")
                    assert maps and all(a and " to " in a and ("map" in a or "value" in a) for a in maps), maps
            bad.update({(state, tab): v for impact, v in found.items() if impact in BAD})
            if shots:
                os.makedirs(shots, exist_ok=True)
                page.screenshot(path=os.path.join(shots, f"{look}-{state}-{tab[:12].replace(' ', '_')}.png"),
                                full_page=True)
    finally:
        page.close()
    assert not bad, f"axe-core, {look}: {bad}"
