"""A link that opens exactly what you see, in Chromium on the real app: draw, make a link,
open it in a fresh browser context (no cookies, no storage): the same drawing, prediction,
tab and unit detail. A tampered link gets a sentence and the server prints no traceback."""
import os
import re

import pytest

from browser import (CHROMIUM, drawn, fresh, open_tab, pick, selected_tab, set_number, settled, text_of, top_label,
                     wait_for, wait_text)

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)
pytest.importorskip("playwright.sync_api")


def probabilities(page) -> dict:
    """The Prediction label's classes and percentages."""
    text = page.locator("#prediction").inner_text()
    return {d: int(p) for d, p in re.findall(r"^(\d)\n(\d+)%$", text, re.M)}


def make_link(page) -> str:
    page.locator("#share-link").click()
    return wait_for(lambda: (v := page.locator("#share-url textarea, #share-url input").first.input_value())
                    .startswith("http") and v, 30, "the link")


def test_a_link_opens_the_same_drawing_prediction_tab_and_detail(browser, app_url):
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    drawn(page, app_url, 4)
    want = probabilities(page)
    page.locator('#stages [data-stage="C1"]').first.focus()
    page.keyboard.press("Enter")  # the unit detail, open on C1 map 0
    wait_text(page, "#unit-detail h3", "C1, map 0")
    link = make_link(page)
    assert len(link) < len(app_url) + 800, len(link)  # pasteable into a chat
    page.close()

    context = browser.new_context(viewport={"width": 1300, "height": 1000})  # a fresh browser
    other = context.new_page()
    other.goto(link)
    wait_for(lambda: top_label(other) == "4", 30, "the linked drawing read")
    got = probabilities(other)
    assert got.keys() == want.keys() and all(abs(got[d] - want[d]) <= 2 for d in want), (want, got)
    assert selected_tab(other) == "Draw"
    wait_text(other, "#unit-detail h3", "C1, map 0")
    assert "Opened from a link" in other.locator("#share-status").inner_text()
    context.close()


def test_a_link_opens_on_the_tab_it_was_made_on(browser, app_url):
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    drawn(page, app_url, 7)
    page.get_by_role("tab", name="Why this digit?").click()
    link = make_link(page)
    page.close()
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    other = context.new_page()
    other.goto(link)
    wait_for(lambda: selected_tab(other) == "Why this digit?", 30, "the Why tab")
    other.get_by_role("tab", name="Draw").click()
    wait_for(lambda: top_label(other) == "7", 30, "the linked 7 read")
    context.close()


def test_a_link_holds_the_playgrounds_image_and_settings(browser, app_url):
    """"This kernel with stride 2": the link opens the playground as it was set."""
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    fresh(page, app_url)
    open_tab(page, "Convolution playground")
    wait_text(page, "#pg-output", "512×512")
    pick(page, "pg-source", "Tiny 6×6 squares")
    pick(page, "pg-padding", "valid")
    set_number(page, "pg-stride", 2)
    page.locator("#pg-act label", has_text="relu").first.click()
    wait_text(page, "#pg-output", "⌊(6 + 2·0 − 3)/2⌋ + 1 = 2")
    wait_text(page, "#pg-output", "ReLU")
    want = page.locator("#pg-output").inner_text()
    link = make_link(page)
    page.close()
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    other = context.new_page()
    other.goto(link)
    wait_for(lambda: selected_tab(other) == "Convolution playground", 30, "the playground tab")
    wait_for(lambda: text_of(other, "#pg-output") == want, 30, "the same playground view")
    assert other.locator("#pg-stride input[type=number]").first.input_value() == "2"
    # a tampered setting is left as the app opens it, and said
    token = link.split("?s=")[1]
    from cnn_demo import share_link
    state = share_link.decode(token)
    state["set"]["pg.stride"] = 999
    other.goto(link.split("?s=")[0] + "?s=" + share_link.encode(state))
    wait_text(other, "#share-status", "could not be used")
    assert other.locator("#pg-stride input[type=number]").first.input_value() == "1"
    context.close()


def opened(browser, link: str, tab: str):
    """The link in a fresh browser context (no cookies, no storage), on the tab it names."""
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    page.goto(link)
    wait_for(lambda: selected_tab(page) == tab, 30, tab)
    return context, page


def shot(page, name: str):
    if os.environ.get("CNN_DEMO_SHOTS"):
        page.screenshot(path=f"{os.environ['CNN_DEMO_SHOTS']}/{name}.png", full_page=True)


def top_examples(page, heading: str) -> str:
    """The Insights tab's top examples once they are in (no progress timer in front)."""
    return wait_for(lambda: (t := text_of(page, "#ins-top")).startswith(heading) and t, 30, heading)


def insights_choices(page) -> tuple:
    return tuple(page.locator(f"#ins-{c} input").first.input_value() for c in ("model", "layer", "channel"))


def test_a_link_holds_the_insights_checkpoint_layer_and_channel(browser, app_url, capfd):
    """"Look at conv1 channel 3 of the TinyCNN": the link opens the Insights tab just so."""
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    drawn(page, app_url, 7)
    open_tab(page, "What neurons look for")
    wait_text(page, "#ins-status", "lenet5:")
    pick(page, "ins-model", "tinycnn")
    wait_text(page, "#ins-status", "tinycnn:")
    settled(page, watch=["#ins-top", "#ins-status"])  # a pick's late second request is in too
    pick(page, "ins-layer", "conv1")
    settled(page, watch=["#ins-top"])
    set_number(page, "ins-channel", 3)
    want = top_examples(page, "conv1, channel 3:")
    link = make_link(page)
    page.close()

    context, other = opened(browser, link, "What neurons look for")
    wait_text(other, "#ins-status", "tinycnn:")
    assert top_examples(other, "conv1, channel 3:") == want  # the same channel's top examples
    settled(other)  # nothing that follows the link resets the choices
    assert insights_choices(other) == ("tinycnn", "conv1", "3")
    shot(other, "link-insights")
    context.close()
    out = capfd.readouterr()
    assert "Traceback" not in out.err + out.out  # no late request refused by Gradio on the way


def test_a_link_holds_the_why_tabs_class_layer_and_knock_outs(browser, app_url, capfd):
    """"Why not a 3, with C1's filter 2 off": the link opens the Why tab explained just so."""
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    drawn(page, app_url, 7)
    open_tab(page, "Why this digit?")
    wait_text(page, "#why-status", "The model reads")
    pick(page, "why-class", "3")
    wait_text(page, "#why-status", "and not 7")
    pick(page, "why-layer", "C1")
    wait_text(page, "#why-attr", "Grad-CAM on C1")
    settled(page, watch=["#why-attr", "#why-ko-filters"])  # a pick's late second request is in too
    page.locator("#why-ko-filters label", has_text="2").first.click()
    wait_text(page, "#why-ko", "With 1 of C1's filters zeroed (2)")
    link = make_link(page)
    page.close()

    context, other = opened(browser, link, "Why this digit?")
    wait_text(other, "#why-status", "Explaining why 3 and not 7")
    wait_text(other, "#why-attr", "Grad-CAM on C1")
    try:
        wait_text(other, "#why-ko", "With 1 of C1's filters zeroed (2)")
    except AssertionError:
        shot(other, "link-why-failed")
        raise
    settled(other)  # nothing that follows the link resets the choices
    assert "With 1 of C1's filters zeroed (2)" in other.locator("#why-ko").inner_text()
    assert other.locator("#why-ko-filters input:checked").count() == 1
    shot(other, "link-why")
    context.close()
    out = capfd.readouterr()
    assert "Traceback" not in out.err + out.out


@pytest.mark.parametrize("query,said", [("?s=1.garbage!!", "damaged"), ("?s=9.abc", "another version"),
                                        ("?s=" + "A" * 5000, "at most 4,096")])
def test_a_tampered_link_gets_a_sentence(browser, app_url, query, said, capfd):
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.goto(app_url + query)
    wait_text(page, "#share-status", said)
    assert selected_tab(page) == "Draw"
    page.locator("#sketchpad canvas").first.wait_for(state="visible", timeout=30_000)
    page.screenshot(path=os.environ["CNN_DEMO_SHOTS"] + "/tampered.png") if os.environ.get("CNN_DEMO_SHOTS") else None
    page.close()
    out = capfd.readouterr()
    assert "Traceback" not in out.err + out.out
