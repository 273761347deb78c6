"""Every tab's actions in Chromium on an emulated ZeroGPU Space (tests/test_zerogpu.py says how it
is emulated): the visitor's quota header set by the page's requests as the Hub's proxy sets it.
Nothing but a training run asks ZeroGPU for a GPU; a run whose GPU cannot start (this machine
has no CUDA) says so in the app's words and trains on the CPU."""
import os

import pytest

from browser import CHROMIUM, draw, example, fresh, open_tab, pen_digit, pick, set_number, top_label, wait_for, \
    wait_text
from conftest import ROOT, build_cache_repo
from fake_zerogpu import FakeZeroGPU, ip_token
from test_zerogpu import worker_tracebacks_only, zero_app

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)
pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def zero(tmp_path_factory):
    api = FakeZeroGPU()
    tmp = tmp_path_factory.mktemp("zerogpu-browser")
    srv = zero_app(tmp, api, standin=False)
    build_cache_repo(tmp / "hub", "teacher/lenet5-mnist",  # the Space's Hub cache (offline here)
                     {p.name: p.read_bytes() for p in (ROOT / "checkpoints" / "lenet5").iterdir()})
    yield srv, api
    srv.close()
    api.close()


def test_every_tab_works_on_a_zerogpu_space(browser, zero):
    srv, api = zero
    visitor = ip_token("grace")
    ctx = browser.new_context(viewport={"width": 1300, "height": 1000}, extra_http_headers={"X-IP-Token": visitor})
    page = ctx.new_page()
    try:
        fresh(page, srv.url)
        mark = srv.mark()
        # Draw: a pen-drawn digit, then an example
        draw(page, pen_digit(3, 0), steps=1)
        wait_for(lambda: top_label(page) == "3", 30, "the drawn 3 read")
        example(page, 7)
        wait_for(lambda: top_label(page) == "7", 30, "the example 7 read")
        wait_text(page, "#stages", "C1")
        # Why: attributions, a knock-out with its 10,000-digit accuracy, a nudge
        open_tab(page, "Why this digit?")
        wait_text(page, "#why-status", "The model reads 7")
        pick(page, "why-ko-layer", "C3")
        wait_for(lambda: page.locator("#why-ko-filters label").count() == 16, 30, "C3's 16 filters")
        page.locator("#why-ko-filters label").nth(2).click()
        wait_text(page, "#why-ko", "With 1 of C3's filters zeroed (2): MNIST test accuracy")
        pick(page, "why-target", "1")
        page.locator("#why-nudge-go").click()
        wait_text(page, "#why-nudge", "after")
        # Insights, the playground
        open_tab(page, "What neurons look for")
        wait_text(page, "#ins-status", "lenet5: 99.")
        wait_text(page, "#ins-top", "C3, channel 0")
        open_tab(page, "Convolution playground")
        pick(page, "pg-source", "Tiny 6×6 squares")
        wait_text(page, "#pg-walk", "Step 1 of 36")
        assert api.grants == []  # none of that asked ZeroGPU for a GPU
        # Train: the Train button's run asks for the visitor's GPU time, cannot start CUDA here, trains on the CPU
        open_tab(page, "Train & Hub")
        set_number(page, "tr-size", 512)
        page.locator("#tr-name textarea, #tr-name input").first.fill("zero-button")
        page.locator("#tr-start").click()
        wait_text(page, "#tr-status", "The GPU could not be started for this run", timeout=120)
        status = wait_text(page, "#tr-status", "Training finished: zero-button", timeout=180)
        assert "It trains on the CPU instead" in status
        assert [(g.token, g.failed) for g in api.grants] == [(visitor, True)]
        # Hub: a load from the Space's cache joins the model list
        page.get_by_text("Hugging Face Hub: load a checkpoint, or share one").click()
        page.locator("#hub-repo textarea, #hub-repo input").first.fill("teacher/lenet5-mnist")
        page.locator("#hub-load").click()
        wait_text(page, "#hub-load-msg", "Loaded hub:teacher/lenet5")
        open_tab(page, "Draw")
        maps = "Array.from(document.querySelectorAll('#stages img')).map(i => i.src).join()"
        before = page.evaluate(maps)
        page.locator("#model input").click()
        page.get_by_role("option", name="zero-button (LeNet-5", exact=False).click()
        wait_for(lambda: page.evaluate(maps) != before, 30, "the new checkpoint's maps of the 7")
        assert len(api.grants) == 1
        assert worker_tracebacks_only(srv, mark)
    finally:
        shots = os.environ.get("CNN_DEMO_SHOTS")
        if shots:
            page.screenshot(path=os.path.join(shots, "zerogpu-train.png"), full_page=True)
        ctx.close()
