"""A real browser draws on the real app: Debian's Chromium, driven by Playwright."""
import os
import time

import pytest

from browser import CHROMIUM, canvas_box, draw, launch, pen_digit, top_label

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


@pytest.fixture(scope="module")
def page(app_url):
    with sync_playwright() as p:
        browser = launch(p)
        pg = browser.new_page(viewport={"width": 1300, "height": 1000})
        pg.goto(app_url)
        canvas_box(pg)
        yield pg
        browser.close()


def wait_for_label(page, want, timeout=20):
    end, got = time.time() + timeout, None
    while time.time() < end:
        try:
            got = top_label(page)
        except Exception:
            got = None
        if got == want:
            return got
        time.sleep(0.25)
    return got


def test_drawing_with_the_mouse_shows_the_digit(page):
    # no click on a tool first: the brush must be armed when the page opens
    draw(page, pen_digit(3, 0))
    assert wait_for_label(page, "3") == "3"
    assert "C1" in page.locator("#stages").inner_text()
    assert "centred (28×28)" in page.locator("#steps").inner_text()


def test_clear_then_draw_again_at_once(page):
    page.locator('#sketchpad button[aria-label="Clear canvas"]').click()
    time.sleep(1)
    assert "select the draw tool" not in page.locator("#sketchpad").inner_text()
    draw(page, pen_digit(7, 0))
    assert wait_for_label(page, "7") == "7"


def test_why_tab_explains_the_current_drawing(page):
    # the canvas still holds the 7 drawn by the previous test
    page.get_by_role("tab", name="Why this digit?").click()
    page.locator("#why-go").click()
    attr = page.locator("#why-attr")
    attr.get_by_text("Gradient saliency").wait_for(timeout=30_000)
    assert "Grad-CAM on C3" in attr.inner_text() and "Occlusion" in attr.inner_text()
    assert "The model reads 7" in page.locator("#why-status").inner_text()
    page.get_by_role("tab", name="Draw").click()


def test_playground_preset_change_changes_the_output(page):
    page.get_by_role("tab", name="Convolution playground").click()
    out = page.locator("#pg-output")
    out.locator("img").first.wait_for(state="visible", timeout=30_000)
    out.locator("img").nth(1).wait_for(state="visible", timeout=30_000)
    before = out.locator("img").nth(1).get_attribute("src")  # [0] is the input, [1] the first conv map
    assert "Sobel x" in out.inner_text()
    page.locator("#pg-kernels input").click()
    page.get_by_role("option", name="Laplacian").click()
    page.keyboard.press("Escape")
    # remove Sobel x: its chip's close button
    page.locator("#pg-kernels .token-remove").first.click()  # Sobel x, the first chip
    end = time.time() + 20
    while time.time() < end and ("Sobel x" in out.inner_text() or
                                 out.locator("img").nth(1).get_attribute("src") == before):
        time.sleep(0.25)
    assert "Laplacian" in out.inner_text() and "Sobel x" not in out.inner_text()
    assert out.locator("img").nth(1).get_attribute("src") != before
    page.get_by_role("tab", name="Draw").click()


def test_train_tab_draws_every_curve(page):
    """Both curves and all their series are drawn (Gradio's plot used to keep only the series of
    its first frame: the accuracy plot stayed empty and the epoch-average loss never showed)."""
    page.get_by_role("tab", name="Train & Hub").click()
    page.locator("#tr-size input").fill("512")
    page.locator("#tr-start").click()
    page.locator("#tr-status").get_by_text("Training finished").wait_for(timeout=120_000)
    time.sleep(1)
    acc, loss = page.locator("#tr-acc").text_content(), page.locator("#tr-loss").text_content()
    assert "test accuracy" in acc and "training accuracy" in acc
    assert "training loss (smoothed)" in loss and "epoch aver" in loss
    assert page.locator("#tr-acc svg path[aria-roledescription='line mark']").count() >= 2
    page.get_by_role("tab", name="Draw").click()
