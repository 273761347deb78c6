"""Every control of every tab, driven in Chromium as a person would — click, type, pick,
drag, draw, and the keyboard — each with a visible, correct effect: a prediction that
matches the digit, maps that change, a sentence. Each test starts from a fresh page load."""
import os
import time

import pytest

from browser import (CHROMIUM, ONE, draw, example, fresh, open_tab, pick, set_number, text_of,
                     top_label, type_in_cell, wait_for, wait_text)
from conftest import ROOT, build_cache_repo

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

pytest.importorskip("playwright.sync_api")  # the browser fixture (conftest) drives it
DIGIT7 = ROOT / "examples" / "digits" / "mnist-test-0000-label7.png"


@pytest.fixture
def page(browser, app_url, request):
    pg = browser.new_page(viewport={"width": 1300, "height": 1000})
    fresh(pg, app_url)
    yield pg
    shots = os.environ.get("CNN_DEMO_SHOTS")  # a folder: each test's last view, to look at
    if shots:
        os.makedirs(shots, exist_ok=True)
        pg.screenshot(path=os.path.join(shots, f"{request.node.name}.png"), full_page=True)
    pg.close()


def label_is(page, digit: str, selector="#prediction"):
    return wait_for(lambda: page.locator(f"{selector} h2, {selector} .output-class").first.inner_text().strip()
                    == digit, 30, f"{selector} to read {digit}")


def src_of(page, selector: str) -> list:
    return page.evaluate(f"Array.from(document.querySelectorAll('{selector} img')).map(i => i.src)")


# ---- Draw --------------------------------------------------------------------------------
def test_example_digits_and_the_random_digit_are_read_at_once(page):
    """Clicking an example digit put it on the canvas and nothing else happened."""
    example(page, 7)
    label_is(page, "7")
    wait_text(page, "#stages", "C1")
    assert "centred (28×28)" in text_of(page, "#steps")
    example(page, 2)
    label_is(page, "2")
    page.locator("#random-digit").click()
    wait_for(lambda: text_of(page, "#steps") != "" and top_label(page) in "0123456789", 30, "a random digit read")
    stages_before = src_of(page, "#stages")
    page.locator("#random-digit").click()
    wait_for(lambda: src_of(page, "#stages") != stages_before, 30, "another random digit")


def test_drawing_undo_redo_erase_and_clear(page):
    draw(page, ONE, steps=1)
    label_is(page, "1")
    page.locator('#sketchpad button[aria-label="Undo"]').click()
    wait_text(page, "#draw-status", "Draw one digit")
    page.locator('#sketchpad button[aria-label="Redo"]').click()
    label_is(page, "1")
    wait_for(lambda: "Draw one digit" not in text_of(page, "#draw-status"), 30, "the status to leave the hint")
    page.locator('#sketchpad button[aria-label="Erase"]').click()
    assert page.locator('#sketchpad button[aria-label="Erase"]').get_attribute("aria-pressed") == "true"
    draw(page, ONE, steps=1)  # erase along the same stroke
    wait_text(page, "#draw-status", "Draw one digit")  # the stroke is gone: an empty canvas again
    page.locator('#sketchpad button[aria-label="Brush"]').click()
    draw(page, ONE, steps=1)
    label_is(page, "1")
    page.locator('#sketchpad button[aria-label="Clear canvas"]').click()
    wait_text(page, "#draw-status", "Draw one digit")


def test_models_one_at_a_time_and_side_by_side(page):
    example(page, 7)
    label_is(page, "7")
    page.get_by_text("Learned filters (the weights").click()
    wait_text(page, "#filters", "C1 filters")
    page.get_by_text("Layer table: shapes").click()
    wait_text(page, "#layer-table", "multiply-adds")
    page.locator("#model input").click()
    page.get_by_role("option", name="tinycnn (TinyCNN", exact=False).first.click()
    wait_text(page, "#filters", "conv1 filters")
    wait_text(page, "#stages", "conv2")
    label_is(page, "7")
    page.locator("#model input").click()
    page.get_by_role("option", name="LeNet-5 and TinyCNN, side by side").click()
    wait_for(lambda: page.locator("#prediction2").is_visible(), 30, "the second prediction")
    label_is(page, "7", "#prediction2")
    wait_text(page, "#stages", "lenet5: reads 7")
    assert "tinycnn: reads 7" in text_of(page, "#stages")


def test_an_uploaded_picture_is_classified_and_can_go_on_the_canvas(page):
    page.get_by_text("Classify an image file").click()
    page.locator("#upload input[type=file]").set_input_files(str(DIGIT7))
    page.locator("#upload-classify").click()
    wait_text(page, "#upload-probs", '"7"')
    page.locator("#upload-model textarea, #upload-model input").first.fill("tinycnn")
    page.locator("#upload-classify").click()
    wait_for(lambda: "tinycnn" not in text_of(page, "#upload-probs") and '"7"' in text_of(page, "#upload-probs"),
             30, "tinycnn's answer")
    page.locator("#upload-model textarea, #upload-model input").first.fill("no-such-model")
    page.locator("#upload-classify").click()
    wait_for(lambda: "No checkpoint named 'no-such-model'" in page.inner_text("body"), 30, "the refusal")
    page.locator("#upload-to-canvas").click()
    label_is(page, "7")
    wait_text(page, "#steps", "centred (28×28)")


def test_the_keyboard_reaches_every_draw_control(page):
    """A keyboard user gets a digit onto the canvas (examples, random digit), picks a model,
    and reads the answer; every control of the tab is reached with Tab."""
    reached = set()
    page.locator("body").press("Tab")
    for _ in range(80):
        reached.add(page.evaluate("(() => { const e = document.activeElement; const c = e.closest('#sketchpad') || e.closest('[id]');"
                                  " return (c ? c.id : '') + ':' + (e.getAttribute('aria-label') || e.tagName); })()"))
        page.keyboard.press("Tab")
    for want in ["model:Model", "random-digit:BUTTON", "digits:Put the MNIST test digit 7 on the canvas",
                 "sketchpad:Clear canvas", "sketchpad:Brush", "sketchpad:Erase"]:
        assert any(r.startswith(want) for r in reached), (want, sorted(reached))
    page.locator('#digits button[aria-label="Put the MNIST test digit 0 on the canvas"]').focus()
    page.keyboard.press("Enter")
    label_is(page, "0")
    page.locator("#random-digit").focus()
    page.keyboard.press("Enter")
    wait_for(lambda: top_label(page) in "0123456789" and src_of(page, "#steps"), 30, "a random digit")
    page.locator("#model input").focus()  # by its name: other tests of this module may add checkpoints to the list
    page.keyboard.type("tinycnn")
    page.keyboard.press("Enter")
    wait_text(page, "#stages", "conv1")


KEY = """(e) => {  // a control, named by its component's id and its own name
  const c = e.closest('[id]');
  if (e.closest('table, [role=grid]') && !e.closest('button')) return (c ? c.id : '') + ':a table cell';  // arrows move inside
  const own = e.getAttribute('aria-label') || (e.innerText || '').trim().slice(0, 40) || e.getAttribute('name')
    || e.getAttribute('type') || e.tagName;
  return (c ? c.id : '') + ':' + own;
}"""
CONTROLS = """(() => {
  const key = %s, seen = new Set();
  document.querySelectorAll('button, input, textarea, select, a[href], [tabindex]:not([tabindex="-1"])').forEach((e) => {
    const r = e.getBoundingClientRect(), st = getComputedStyle(e);
    if (e.disabled || r.width === 0 || r.height === 0 || st.visibility === 'hidden' || e.closest('footer')) return;
    if (e.closest('[role=tablist]')) return;  // the tab buttons: opened with Enter below
    if (e.closest('[aria-hidden=true]')) return;  // Gradio's hidden copy of the tab row, kept to measure it
    if (e.matches('input[type=radio]') && !e.checked) return;  // a radio group is one Tab stop
    seen.add(key(e));
  });
  return Array.from(seen);
})()""" % KEY
FOCUSED = "(%s)(document.activeElement)" % KEY


@pytest.mark.parametrize("tab", ["Draw", "Why this digit?", "What neurons look for", "Convolution playground",
                                 "Train & Hub", "Lessons"])
def test_the_keyboard_reaches_every_control_of_every_tab(page, tab):
    """Reached with Tab, tabs opened with Enter: every visible control of the tab (accordions
    open) takes the keyboard's focus at some point."""
    from a11y import open_accordions
    example(page, 3)
    label_is(page, "3")
    page.get_by_role("tab", name=tab).focus()
    page.keyboard.press("Enter")
    wait_for(lambda: page.get_by_role("tab", name=tab).get_attribute("aria-selected") == "true", 10, tab)
    open_accordions(page)
    time.sleep(1)
    controls = set(page.evaluate(CONTROLS))
    reached = set()
    page.get_by_role("tab", name=tab).focus()
    for _ in range(800):  # the Draw tab, every accordion open, side by side after another test: ~500 stops
        page.keyboard.press("Tab")
        reached.add(page.evaluate(FOCUSED))
        if controls <= reached:
            break
    assert controls <= reached, f"not reached with Tab on {tab}: {sorted(controls - reached)}"
    if tab == "Convolution playground":  # the typed kernel, from the keyboard alone
        page.locator("#pg-kernels input").focus()
        page.keyboard.type("Custom")
        page.keyboard.press("Enter")
        page.keyboard.press("Escape")
        wait_text(page, "#pg-kernel-view", "custom")
        editing = "document.activeElement.getAttribute('aria-label') === 'Edit cell'"

        def open_cell():  # Enter on the focused cell opens its editor (once the grid has settled)
            page.locator('#pg-grid [data-testid="cell-0-0"]').focus()
            page.keyboard.press("Enter")
            return wait_for(lambda: page.evaluate(editing), 2, "the cell editor")
        wait_for(lambda: open_cell(), 20, "the cell editor to open")
        page.keyboard.press("Control+A")
        page.keyboard.type("5")
        page.keyboard.press("Enter")
        wait_for(lambda: text_of(page, "#pg-kernel-view").split("custom (3×3)")[1].split()[0] == "5", 30,
                 f"the typed 5 in the kernel: {text_of(page, '#pg-grid')!r}")


# ---- Why this digit? ------------------------------------------------------------------------
def test_why_tab_controls(page):
    example(page, 7)
    label_is(page, "7")
    open_tab(page, "Why this digit?")
    wait_text(page, "#why-status", "The model reads 7")
    pick(page, "why-class", "1")
    wait_text(page, "#why-status", "Explaining why 1 and not 7")
    wait_text(page, "#why-attr", "rather than")
    pick(page, "why-layer", "C1")
    wait_text(page, "#why-attr", "Grad-CAM on C1")
    pick(page, "why-class", "the prediction")
    page.locator("#why-go").click()
    wait_for(lambda: "Explaining" not in (t := text_of(page, "#why-status")) and "The model reads 7 (" in t, 30,
             "why 7, not why 1")
    wait_for(lambda: "Gradient saliency" in (t := text_of(page, "#why-attr")) and "rather than" not in t, 30,
             "the attributions of 7 alone")
    pick(page, "why-ko-layer", "C3")
    wait_for(lambda: page.locator("#why-ko-filters label").count() == 16, 30, "C3's 16 filters")
    page.locator("#why-ko-filters label").nth(0).click()
    wait_text(page, "#why-ko", "With 1 of C3's filters zeroed (0): MNIST test accuracy")
    page.locator("#why-ko-filters label").nth(3).click()
    wait_text(page, "#why-ko", "With 2 of C3's filters zeroed (0, 3)")
    wait_for(lambda: page.locator("#why-ko-probs h2, #why-ko-probs .output-class").count(), 30, "the knocked-out answer")
    pick(page, "why-sweep-kind", "scale")
    wait_text(page, "#why-sweep", "1.4")
    pick(page, "why-sweep-kind", "shift right (px)")
    wait_for(lambda: "1.4" not in text_of(page, "#why-sweep") and "8" in text_of(page, "#why-sweep"), 30,
             "the shift sweep")
    pick(page, "why-target", "1")
    page.locator("#why-nudge-go").click()
    wait_text(page, "#why-nudge", "after: the model reads 1")


# ---- What neurons look for ------------------------------------------------------------------
def test_insights_tab_controls(page):
    example(page, 7)
    label_is(page, "7")
    open_tab(page, "What neurons look for")
    wait_text(page, "#ins-status", "lenet5: 99.")
    wait_text(page, "#ins-top", "C3, channel 0")
    # dragged across all 16 channels: each answer on the way must not pull the slider back
    track = page.locator("#ins-channel input[type=range]").first
    box = track.bounding_box()
    page.mouse.move(box["x"] + 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    for i in range(1, 31):
        page.mouse.move(box["x"] + box["width"] * i / 30, box["y"] + box["height"] / 2)
        page.wait_for_timeout(30)
    page.mouse.up()
    wait_text(page, "#ins-top", "C3, channel 15")
    assert track.input_value() == "15"
    set_number(page, "ins-channel", 5)
    wait_text(page, "#ins-top", "C3, channel 5")
    page.locator("#ins-vis-go").click()
    wait_text(page, "#ins-vis", "an input optimised to excite C3 channel 5")
    pick(page, "ins-layer", "C1")
    wait_for(lambda: page.locator("#ins-channel input[type=range]").get_attribute("max") == "5", 30, "C1's 6 channels")
    set_number(page, "ins-channel", 2)
    wait_text(page, "#ins-top", "C1, channel 2")
    pick(page, "ins-model", "tinycnn")
    wait_text(page, "#ins-status", "tinycnn: 99.")
    wait_text(page, "#ins-top", "conv2, channel 0")
    page.get_by_text("Class signatures (with your drawing)").click()
    wait_text(page, "#ins-sig", "your drawing below")
    # both of TinyCNN's stages by name, in turn: the stage a test before this one left chosen
    # (the page is shared, the order random) is then a change away whichever it was
    pick(page, "ins-stage", "flatten")
    wait_text(page, "#ins-sig", "Class signatures at flatten")
    pick(page, "ins-stage", "fc")
    wait_text(page, "#ins-sig", "Class signatures at fc")
    page.get_by_text("Embedding of the last hidden layer").click()
    wait_text(page, "#ins-embed", "your drawing")
    page.get_by_text("Errors: the confusion matrix").click()
    page.locator('#ins-conf [data-testid="cell-4-10"]').click()  # true 4, read as 9
    wait_text(page, "#ins-errs", "True 4, read as 9")
    page.locator('#ins-conf [data-testid="cell-4-5"]').click()  # the diagonal
    wait_text(page, "#ins-errs", "read correctly")


# ---- Convolution playground -----------------------------------------------------------------
def test_playground_controls(page):
    example(page, 7)
    label_is(page, "7")
    open_tab(page, "Convolution playground")
    wait_text(page, "#pg-output", "512×512")
    pick(page, "pg-source", "Tiny 6×6 squares")
    wait_text(page, "#pg-walk", "Step 1 of 36")
    set_number(page, "pg-step", 8)
    wait_text(page, "#pg-walk", "Step 8 of 36")
    pick(page, "pg-padding", "valid")
    wait_text(page, "#pg-output", "⌊(6 + 2·0 − 3)/1⌋ + 1 = 4")
    pick(page, "pg-padding", "1")
    pick(page, "pg-mode", "reflect")
    wait_text(page, "#pg-walk", "padded to 8×8")
    set_number(page, "pg-stride", 2)
    wait_text(page, "#pg-output", "⌊(6 + 2·1 − 3)/2⌋ + 1 = 3")
    set_number(page, "pg-stride", 1)
    set_number(page, "pg-dilation", 2)
    wait_text(page, "#pg-output", "dilation 2 makes the 3×3 kernel span 2·(3−1)+1 = 5 pixels")
    wait_text(page, "#pg-output", "⌊(6 + 2·1 − 5)/1⌋ + 1 = 4")
    set_number(page, "pg-dilation", 1)
    page.locator("#pg-act label", has_text="relu").first.click()
    wait_text(page, "#pg-output", "2 · ReLU")
    page.locator("#pg-act label", has_text="leaky_relu").click()
    set_number(page, "pg-slope", 0.5)
    wait_text(page, "#pg-output", "LeakyReLU (slope 0.5)")
    page.locator("#pg-pool label", has_text="max").click()
    wait_text(page, "#pg-output", "max pooling 2×2, stride 2")
    set_number(page, "pg-pool-size", 3)
    set_number(page, "pg-pool-stride", 1)
    wait_text(page, "#pg-output", "max pooling 3×3, stride 1")
    set_number(page, "pg-pool-step", 2)
    wait_text(page, "#pg-pool-walk", "Pooling window 2 of")
    pick(page, "pg-kernels", "Custom (the grid)")
    wait_text(page, "#pg-kernel-view", "custom (3×3)")
    type_in_cell(page, page.locator('#pg-grid [data-testid="cell-0-0"]'), "7")
    wait_for(lambda: "7" in page.locator("#pg-kernel-view table").last.inner_text(), 30, "the typed 7 in the kernel")
    pick(page, "pg-source", "My drawing (from the Draw tab)")
    wait_text(page, "#pg-output", "112×112")
    pick(page, "pg-source", "My upload")
    page.locator("#pg-upload input[type=file]").set_input_files(str(DIGIT7))
    wait_text(page, "#pg-output", "400×400")
    pick(page, "pg-source", "Photo: rocket on its pad (RGB)")
    page.get_by_text("Colour: channels, a 3×3×3 bank").click()
    wait_text(page, "#pg-colour", "seed 0")
    set_number(page, "pg-seed", 5)
    wait_text(page, "#pg-colour", "seed 5")


# ---- Train & Hub ----------------------------------------------------------------------------
def test_train_controls_and_the_model_list(page):
    open_tab(page, "Train & Hub")
    pick(page, "tr-arch", "TinyCNN")
    set_number(page, "tr-epochs", 2)
    pick(page, "tr-batch", "64")
    page.locator("#tr-opt label", has_text="sgd").click()
    set_number(page, "tr-lr", 0.05)
    pick(page, "tr-schedule", "cosine")
    page.locator("#tr-augment input").check()
    set_number(page, "tr-size", 512)
    set_number(page, "tr-seed", 3)
    page.locator("#tr-name textarea, #tr-name input").first.fill("sweep-tiny")
    page.locator("#tr-start").click()
    wait_text(page, "#tr-status", "Training finished: sweep-tiny", timeout=180)
    wait_text(page, "#tr-filters", "snapshot")
    n = int(page.locator("#tr-snap input[type=range]").get_attribute("max"))
    assert n >= 3
    set_number(page, "tr-snap", 1)
    wait_text(page, "#tr-filters", "at the start: random numbers, PyTorch's initial weights — snapshot 1 of")
    # the new checkpoint is in the Draw tab's list, and reads
    open_tab(page, "Draw")
    page.locator("#model input").click()
    page.get_by_role("option", name="sweep-tiny (TinyCNN", exact=False).click()
    example(page, 7)
    wait_for(lambda: top_label(page) in "0123456789", 30, "sweep-tiny's answer")
    wait_text(page, "#stages", "conv2")
    # a long run, stopped
    open_tab(page, "Train & Hub")
    set_number(page, "tr-epochs", 20)
    set_number(page, "tr-size", 3000)
    page.locator("#tr-name textarea, #tr-name input").first.fill("sweep-stopped")
    page.locator("#tr-start").click()
    wait_text(page, "#tr-progress", "step", timeout=60)
    page.locator("#tr-stop").click()
    wait_text(page, "#tr-status", "stopped early; kept the best weights so far", timeout=60)


def test_hub_load_and_push(page, monkeypatch, tmp_path):
    from huggingface_hub import constants

    from fake_hub import FakeHub
    cache = tmp_path / "hub"
    monkeypatch.setenv("CNN_DEMO_HUB_CACHE", str(cache))
    build_cache_repo(cache, "teacher/lenet5-mnist",
                     {p.name: p.read_bytes() for p in (ROOT / "checkpoints" / "lenet5").iterdir()})
    open_tab(page, "Train & Hub")
    page.get_by_text("Hugging Face Hub: load a checkpoint, or share one").click()
    page.locator("#hub-repo textarea, #hub-repo input").first.fill("teacher/lenet5-mnist")
    page.locator("#hub-rev textarea, #hub-rev input").first.fill("main")
    page.locator("#hub-load").click()
    wait_text(page, "#hub-load-msg", "Loaded hub:teacher/lenet5")
    page.locator("#hub-sub textarea, #hub-sub input").first.fill("../x")
    page.locator("#hub-load").click()
    wait_text(page, "#hub-load-msg", "is not a folder name inside the repo")
    open_tab(page, "Draw")
    page.locator("#model input").click()
    page.get_by_role("option", name="hub:teacher/lenet5-mnist@00000000", exact=False).click()
    example(page, 7)
    label_is(page, "7")
    # push the loaded checkpoint to a (loopback) Hub, privately
    hub = FakeHub()
    hub.users["hf_writer"] = "me"
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    try:
        open_tab(page, "Train & Hub")
        page.locator("#hub-push-ck input").click()
        page.get_by_role("option", name="lenet5", exact=True).click()
        page.locator("#hub-push-repo textarea, #hub-push-repo input").first.fill("me/from-the-sweep")
        page.locator("#hub-token input").fill("hf_writer")
        page.locator("#hub-private input").check()
        page.locator("#hub-push").click()
        wait_text(page, "#hub-push-msg", "Pushed lenet5")
        assert hub.repos["me/from-the-sweep"].private
        assert page.locator("#hub-token input").input_value() == ""
    finally:
        hub.close()


# ---- a phone ----------------------------------------------------------------------------------
def test_every_tab_on_a_phone(browser, app_url):
    """On a phone Gradio puts the tabs after the first two behind "⋯": each is reached there,
    works, and fits the screen."""
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = ctx.new_page()
        fresh(page, app_url)
        example(page, 7)
        label_is(page, "7")
        for tab, check in [("Why this digit?", ("#why-status", "The model reads 7")),
                           ("What neurons look for", ("#ins-top", "C3, channel 0")),
                           ("Convolution playground", ("#pg-output", "512×512")),
                           ("Train & Hub", ("#tr-start", "Train"))]:
            visible = page.get_by_role("tab", name=tab)
            if visible.count() and visible.first.is_visible():
                visible.first.click()
            else:
                page.locator(".overflow-menu button, button.overflow-menu").first.click()
                page.get_by_text(tab, exact=True).last.click()
            wait_text(page, *check)
            wide = page.evaluate("Math.max(...Array.from(document.querySelectorAll('.cx-card, .block'))"
                                 ".filter(e => e.offsetParent).map(e => e.getBoundingClientRect().right))")
            assert wide <= 392, (tab, wide)
    finally:
        ctx.close()
