"""A real browser draws on the real app: Debian's Chromium, driven by Playwright."""
import os
import time

import pytest

from browser import CHROMIUM, ONE, canvas_box, draw, pen_digit, top_label, wait_for

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

pytest.importorskip("playwright.sync_api")  # the browser fixture (conftest) drives it


@pytest.fixture(scope="module")
def page(browser, app_url):
    pg = browser.new_page(viewport={"width": 1300, "height": 1000})
    pg.goto(app_url)
    canvas_box(pg)
    yield pg
    pg.close()


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


BLANK = ("() => { const c = document.querySelector('#sketchpad canvas');"
         " return c.getContext('2d').getImageData(0, 0, c.width, c.height).data.every(v => v === 255); }")


def test_clear_then_draw_again_at_once(page):
    draw(page, ONE, steps=1)
    page.locator('#sketchpad button[aria-label="Clear canvas"]').click()
    assert page.evaluate(BLANK)  # white paper again, at once
    wait_for(lambda: "Draw one digit" in page.locator("#draw-status").inner_text(), 30, "the hint after a clear")
    draw(page, pen_digit(7, 0))  # the brush still in hand: no tool to pick again
    assert wait_for_label(page, "7") == "7"


def test_a_stroke_is_one_request_and_leaves_nothing_in_the_browser(page):
    """The canvas sends its PNG in the stroke's own event: Gradio's Sketchpad exported and
    uploaded the canvas ~20 times a stroke (~0.8 s), and Gradio's run history re-wrote every
    call's inputs and outputs into localStorage at each step of each call (a stroke 10 ms
    slower with every stroke before it)."""
    page.get_by_role("tab", name="Draw").click()
    page.locator('#sketchpad button[aria-label="Clear canvas"]').click()
    wait_for(lambda: "Draw one digit" in page.locator("#draw-status").inner_text(), 30, "the hint after a clear")
    sent = []
    page.on("request", lambda r: sent.append(r.url) if "/gradio_api/" in r.url else None)
    draw(page, ONE, steps=1)
    assert wait_for_label(page, "1") == "1"
    joins = [u for u in sent if "queue/join" in u]
    assert len(joins) == 1 and not [u for u in sent if "upload" in u or "component_server" in u], sent
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('gradio:run-history'))") == []


def test_a_slip_loses_nothing_and_the_brush_comes_back(page):
    """A newcomer's walk: with Erase chosen, Clear left the eraser in hand (the next drawing
    was invisible); Clear and an example digit could not be undone."""
    page.get_by_role("tab", name="Draw").click()
    page.locator('#sketchpad button[aria-label="Clear canvas"]').click()
    draw(page, ONE, steps=1)
    assert wait_for_label(page, "1") == "1"
    brush, erase = (page.locator(f'#sketchpad button[aria-label="{n}"]') for n in ("Brush", "Erase"))
    erase.click()
    page.locator('#sketchpad button[aria-label="Clear canvas"]').click()
    assert brush.get_attribute("aria-pressed") == "true" and erase.get_attribute("aria-pressed") == "false"
    assert page.evaluate(BLANK)
    page.locator('#sketchpad button[aria-label="Undo"]').click()  # the clear taken back: the 1 again
    assert wait_for_label(page, "1") == "1" and not page.evaluate(BLANK)
    page.locator('#digits button[aria-label="Put the MNIST test digit 3 on the canvas"]').click()
    assert wait_for_label(page, "3") == "3"
    page.locator('#sketchpad button[aria-label="Undo"]').click()  # the example taken back: the 1 again
    assert wait_for_label(page, "1") == "1"


def test_why_tab_explains_the_current_drawing(page):
    # a 7 of its own on the canvas: the tests of this module share one page, in any order
    page.get_by_role("tab", name="Draw").click()
    page.locator('#sketchpad button[aria-label="Clear canvas"]').click()
    time.sleep(1)
    draw(page, pen_digit(7, 0))
    assert wait_for_label(page, "7") == "7"
    page.get_by_role("tab", name="Why this digit?").click()
    page.locator("#why-go").click()
    attr = page.locator("#why-attr")
    attr.get_by_text("Gradient saliency").wait_for(timeout=30_000)
    assert "Grad-CAM on C3" in attr.inner_text() and "Occlusion" in attr.inner_text()
    assert "The model reads 7" in page.locator("#why-status").inner_text()
    page.get_by_role("tab", name="Draw").click()


def _maps(out):
    """(caption, src) of every image in the playground's output, read in one go."""
    return [tuple(x) for x in out.evaluate("e => Array.from(e.querySelectorAll('img')).map(i => [i.alt, i.src])")]


def _wait_for_maps(out, captions, not_src=None, timeout=30):
    """Wait until the output shows exactly these images, each alt text naming its caption (and,
    if given, the second is not `not_src`); fail with every state seen on the way."""
    seen, end = [], time.time() + timeout
    while time.time() < end:
        m = _maps(out)
        if not seen or [c for c, _ in m] != seen[-1]:
            seen.append([c for c, _ in m])
        names = [c for c, _ in m]
        if len(names) == len(captions) and all(w in c for w, c in zip(captions, names)) \
                and (not_src is None or m[1][1] != not_src):
            return m
        time.sleep(0.2)
    raise AssertionError(f"wanted {captions}; states seen: {seen}; last second image unchanged: "
                         f"{not_src is not None and len(m) > 1 and m[1][1] == not_src}")


def test_playground_preset_change_changes_the_output(page):
    page.get_by_role("tab", name="Convolution playground").click()
    out = page.locator("#pg-output")
    sobel = _wait_for_maps(out, ["Input", "Sobel x"])[1][1]
    page.locator("#pg-kernels input").click()
    page.get_by_role("option", name="Laplacian").click()
    page.keyboard.press("Escape")
    both = _wait_for_maps(out, ["Input", "Sobel x", "Laplacian"])
    assert both[2][1] != sobel  # a second output channel, its own map
    page.locator("#pg-kernels .token-remove").first.click()  # Sobel x, the first chip
    _wait_for_maps(out, ["Input", "Laplacian"], not_src=sobel)
    assert "Sobel x" not in out.inner_text()
    page.get_by_role("tab", name="Draw").click()


def test_train_tab_draws_every_curve(page):
    """Both curves and all their series are drawn (Gradio's plot used to keep only the series of
    its first frame: the accuracy plot stayed empty and the epoch-average loss never showed)."""
    page.get_by_role("tab", name="Train & Hub").click()
    page.locator("#tr-size input").fill("512")
    page.locator("#tr-start").click()
    page.locator("#tr-status").get_by_text("Training finished").wait_for(timeout=120_000)
    lines = page.locator("#tr-acc svg path[aria-roledescription='line mark']")
    end = time.time() + 20  # the plots draw their last frame a moment after the status line
    while time.time() < end and lines.count() < 2:
        time.sleep(0.25)
    acc, loss = page.locator("#tr-acc").text_content(), page.locator("#tr-loss").text_content()
    assert "test (10,000 digits)" in acc and "training (this epoch so far)" in acc
    assert "training, smoothed" in loss and "training, this epoch so far" in loss
    assert lines.count() >= 2
    page.get_by_role("tab", name="Draw").click()


def test_a_finger_draws_on_a_phone(browser, app_url):
    """Learners open a teacher's link on phones and tablets: touch strokes on a phone-sized
    page draw on the canvas and are read, the page does not scroll under the finger, and the
    network's stages fit the screen."""
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = ctx.new_page()
        page.goto(app_url)
        box = canvas_box(page)
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390  # the canvas fits the screen
        touch = ctx.new_cdp_session(page)
        draw(page, pen_digit(3, 0), touch=touch)
        assert wait_for_label(page, "3") == "3"
        assert page.evaluate("window.scrollY") == 0
        # every stage fits the phone's width: the flow runs top to bottom, its maps in rows
        page.locator("#stages .cx-fcol").first.wait_for(timeout=20_000)
        boxes = page.evaluate("Array.from(document.querySelectorAll('#stages .cx-fcol, #stages .cx-tile'))"
                              ".map(c => { const r = c.getBoundingClientRect(); return [r.left, r.right, r.top]; })")
        assert len(boxes) >= 60 and max(r for _, r, _ in boxes) <= 390 and min(x for x, _, _ in boxes) >= 0
        cols = page.evaluate("Array.from(document.querySelectorAll('#stages .cx-fcol'))"
                             ".map(c => c.getBoundingClientRect().top)")
        assert cols == sorted(cols) and len(cols) == 12  # the input, then each stage below the one before
    finally:
        ctx.close()


def test_markup_a_visitor_types_stays_text(page):
    """A padding of <img src=x onerror=...> ran script in Chromium: error text went into the
    page's HTML unescaped."""
    page.get_by_role("tab", name="Convolution playground").click()
    box = page.locator("#pg-padding input")
    box.fill('<img src=x onerror="window.__xss=1">')
    box.press("Enter")
    status = page.locator("#pg-status")
    status.get_by_text("Padding must be").wait_for(timeout=30_000)
    assert 'not \'<img src=x onerror="\'' in status.inner_text()  # shown as text (quoted, shortened)
    assert status.locator("img").count() == 0
    assert page.evaluate("window.__xss") is None
    box.fill("same")
    box.press("Enter")
    page.get_by_role("tab", name="Draw").click()


def test_hub_strings_stay_text_and_tokens_leave_the_page(page, monkeypatch):
    """Tensor names and other Hub-controlled strings reached Markdown, where an image tag fetched
    an outside address; the push token stayed in its box after a push."""
    from huggingface_hub import constants
    from safetensors.torch import save as st_save

    from cnn_demo.models import build
    from fake_hub import FakeHub
    hub = FakeHub()
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    sd = build("lenet5").state_dict()
    sd[f"<img src={hub.url}/tracker.png>"] = sd.pop("C1.bias")
    sd["[click me](http://phish.example)"] = sd.pop("C3.bias")
    hub.add_repo("evil/markup", {"model.safetensors": st_save(sd, metadata={"arch": "lenet5"})})
    try:
        page.get_by_role("tab", name="Train & Hub").click()
        page.get_by_text("Hugging Face Hub: load a checkpoint, or share one").click()
        page.locator("#hub-repo textarea, #hub-repo input").first.fill("evil/markup")
        page.locator("#hub-load-token input").fill("hf_visitor_secret")
        page.locator("#hub-load").click()
        msg = page.locator("#hub-load-msg")
        msg.get_by_text("does not match LeNet-5").wait_for(timeout=30_000)
        text = msg.inner_text().replace("\u200b", "")
        assert f"<img src={hub.url}/tracker." in text and "[click me](http://phish.example)" in text
        assert msg.locator("img").count() == 0 and msg.locator("a").count() == 0
        assert not [r for r in hub.requests if "tracker" in r.path]
        assert page.locator("#hub-load-token input").input_value() == ""
        page.locator("#hub-push-ck input").click()
        page.get_by_role("option", name="lenet5").first.click()
        page.locator("#hub-push-repo textarea, #hub-push-repo input").first.fill("me/x")
        page.locator("#hub-token input").fill("hf_push_secret")
        page.locator("#hub-push").click()
        page.locator("#hub-push-msg").get_by_text("refused the token").wait_for(timeout=30_000)
        assert page.locator("#hub-token input").input_value() == ""
        assert "hf_push_secret" not in page.content()
    finally:
        hub.close()
        page.get_by_role("tab", name="Draw").click()
