"""The look inside one unit, in Chromium on the real app: a click on a feature map opens the
detail for that map and position on the drawing, the numbers are the model's own, it follows
new strokes, the keyboard reaches it, and side by side works."""
import base64
import io
import os
import re
import time

import numpy as np
import pytest
import torch
from PIL import Image

from browser import CHROMIUM, draw, drawn, pick, set_number, wait_for, wait_text
from conftest import ROOT
from cnn_demo import checkpoints, drawing, unit

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)
pytest.importorskip("playwright.sync_api")



def own_value(page, name, stage, ch, pos) -> float:
    """The model's own value for the input the page shows it was given (the Draw tab's
    "centred (28×28)" picture, exact to 1/255: the canvas's round trip moves a pixel or two,
    so a PNG file of the digit would not do)."""
    src = page.evaluate("() => Array.from(document.querySelectorAll('#steps figure'))"
                        ".find(f => f.innerText.includes('centred (28×28)')).querySelector('img').src")
    img = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("L")
    x = torch.from_numpy(np.asarray(img, np.float32) / 255)[None, None]
    model = checkpoints.load(ROOT / "checkpoints" / name).model
    out = unit.activations(model, x)[stage][0]
    return float(out[ch][pos]) if out.ndim == 3 else float(out[ch])


def shown(page, what: str) -> float:
    return float(re.search(rf"{what} <b>([^<]+)</b>", detail(page))[1])


def near(a: float, b: float) -> bool:
    """Equal as the page prints them (3 significant digits), give or take the 1/255 of the picture."""
    return abs(a - b) <= 0.01 * max(1.0, abs(b))


def click_map(page, stage: str, ch: int, r: int, c: int, model: int = 0):
    """Click the pixel (r, c) of map `ch`: its tile in the flow, at that pixel."""
    grid = page.locator(f'#stages [data-stage="{stage}"][data-model="{model}"]').first
    tile = grid.locator(f'.cx-tile[data-ch="{ch}"]').first
    tile.scroll_into_view_if_needed()
    th, tw = int(grid.get_attribute("data-th")), int(grid.get_attribute("data-tw"))
    box = tile.bounding_box()
    page.mouse.click(box["x"] + (c + 0.5) * box["width"] / tw, box["y"] + (r + 0.5) * box["height"] / th)


def detail(page) -> str:
    return page.locator("#unit-detail").first.inner_html()


@pytest.fixture(scope="module")
def page(browser, app_url):
    pg = browser.new_page(viewport={"width": 1300, "height": 1000})
    drawn(pg, app_url, 3)  # drawn, so the page's input is the canvas's own value
    yield pg
    pg.close()


def test_a_click_on_a_map_opens_that_unit_with_the_models_own_numbers(page):
    click_map(page, "C3_relu", 5, 2, 3)
    wait_text(page, "#unit-detail h3", "C3, map 5 at row 2, column 3")
    html = detail(page)
    assert near(shown(page, "the map holds"), own_value(page, "lenet5", "C3", 5, (2, 3)))
    assert "(the model's own output, equal)" in html and "Then ReLU: max(0," in html
    assert "receptive field" in html and "on your canvas" in html
    # a square of the enlarged map chooses a position there
    big = page.locator("#unit-detail img[data-unit-map]").first
    big.scroll_into_view_if_needed()
    box = big.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.95, box["y"] + box["height"] * 0.05)
    wait_text(page, "#unit-detail h3", "C3, map 5 at row 0, column 9")
    assert near(shown(page, "the map holds"), own_value(page, "lenet5", "C3", 5, (0, 9)))
    # the sliders move it too
    set_number(page, "unit-row", 7)
    wait_text(page, "#unit-detail h3", "at row 7, column 9")
    assert near(shown(page, "the map holds"), own_value(page, "lenet5", "C3", 5, (7, 9)))


def test_pooling_and_the_softmax(page):
    click_map(page, "S4", 3, 1, 1)
    wait_text(page, "#unit-detail h3", "S4, map 3 at row 1, column 1")
    assert near(shown(page, "wins:"), own_value(page, "lenet5", "S4", 3, (1, 1)))
    # the keyboard: Enter on a focused stage picture opens its first unit
    out = page.locator('#stages [data-stage="OUTPUT"]').first
    out.focus()
    page.keyboard.press("Enter")
    wait_text(page, "#unit-detail h3", "OUTPUT")
    top = page.locator("#prediction").inner_text().split()[1]  # the Prediction label's top class
    assert re.search(rf"reads <b>{top}</b>", detail(page)), detail(page)[-800:]


def test_the_detail_follows_new_strokes(page):
    click_map(page, "C1_relu", 0, 14, 14)
    wait_text(page, "#unit-detail h3", "C1, map 0 at row 14, column 14")
    before = re.search(r"the map holds <b>([^<]+)</b>", detail(page))[1]
    page.get_by_role("tab", name="Draw").click()
    draw(page, [[[300, 0], [700, 1000]]], height_frac=0.8, steps=1)  # a slash through the middle
    wait_for(lambda: re.search(r"the map holds <b>([^<]+)</b>", detail(page))[1] != before, 30,
             "the detail to follow the new stroke")


def test_side_by_side_opens_the_second_models_unit(page):
    pick(page, "model", drawing.COMPARE_TITLE)
    page.locator('#stages [data-stage="conv2"][data-model="1"]').first.wait_for(timeout=30_000)
    time.sleep(0.5)
    click_map(page, "conv2", 7, 3, 4, model=1)
    wait_text(page, "#unit-detail h3", "conv2, map 7 at row 3, column 4")
    assert "TinyCNN" in page.locator("#unit-detail h3").inner_text()
