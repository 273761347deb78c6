"""A learner's first five minutes, in Chromium on the real app (issue 28): the first screen shows
the network working and says where to start; the network reads as one flow; a click on a map
opens its arithmetic where the learner is looking, the map outlined; lessons done in order each
start from the app's own defaults, keep their words in view and ask a question the live app
checks; on a phone the answer sits under the canvas."""
import os

import pytest

from browser import (CHROMIUM, canvas_box, draw, pen_digit, selected_tab, settled, text_of, top_label, wait_for,
                     wait_text)

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)
pytest.importorskip("playwright.sync_api")

WIDE = {"width": 1400, "height": 900}


def first_visit(browser, url, **context):
    ctx = browser.new_context(**{"viewport": WIDE, **context})
    page = ctx.new_page()
    page.goto(url)
    canvas_box(page)
    return ctx, page


def in_view(page, selector: str, margin: float = 0) -> bool:
    """The element's top is on the screen as it is now (no scrolling)."""
    top = page.evaluate(f"document.querySelector('{selector}').getBoundingClientRect().top")
    return 0 <= top <= page.evaluate("innerHeight") - margin


def test_the_first_screen_shows_the_network_working_and_where_to_start(browser, app_url, capfd):
    """Finding 4: before any stroke the prediction and the maps are there (an example digit
    flowing through, the status says so and to draw on the canvas), a "Take the tour" button is on the first
    screen, sharing is one small button, and Lessons is the second tab."""
    ctx, page = first_visit(browser, app_url)
    try:
        wait_for(lambda: top_label(page) == "7", 30, "the example 7 read before any stroke")
        wait_for(lambda: page.locator("#stages .cx-tile").count() > 60, 30, "the example's maps")
        assert "Until you draw, the network is reading an example" in text_of(page, "#draw-status")
        assert in_view(page, "#tour", 40) and "Take the tour" in page.locator("#tour").inner_text()
        share = page.locator("#share-link").bounding_box()
        assert share["height"] < 50 and not page.locator("#share-url").is_visible()  # no empty link box
        tabs = [t.strip() for t in page.locator("[role=tab]").all_inner_texts() if t.strip()]
        assert tabs[:2] == ["Draw", "Lessons"], tabs
        # the canvas is blank paper for the learner's first stroke, which takes the example's place
        draw(page, pen_digit(4, 0), steps=2)
        wait_for(lambda: top_label(page) == "4", 30, "the drawn 4 read")
        settled(page)
        assert "Until you draw" not in text_of(page, "#draw-status")
    finally:
        ctx.close()
    out = capfd.readouterr()
    assert "Traceback" not in out.err + out.out  # the page's load events answered, none refused


def test_the_network_reads_left_to_right_as_one_picture(browser, app_url):
    """Finding 10: the input and every stage in order, left to right on one screen's width, maps
    large enough to see, what joins two stages named, and where the maps are, a word that they
    can be clicked."""
    ctx, page = first_visit(browser, app_url)
    try:
        wait_for(lambda: page.locator("#stages .cx-tile").count() > 60, 30, "the maps")
        heads = page.locator("#stages .cx-fhead b")
        names = heads.all_inner_texts()
        assert names == ["input", "C1", "C1 + ReLU", "S2", "C3", "C3 + ReLU", "S4", "C5", "C5 + ReLU", "F6",
                         "F6 + ReLU", "OUTPUT"], names
        xs = [heads.nth(i).bounding_box()["x"] for i in range(len(names))]
        assert xs == sorted(xs) and len(set(round(x) for x in xs)) == len(xs)  # strictly left to right
        flow = page.evaluate("(() => { const f = document.querySelector('#stages .cx-flow');"
                             " return [f.scrollWidth, f.clientWidth]; })()")
        assert flow[0] <= flow[1], f"the flow is wider than the page: {flow}"
        side = page.locator('#stages [data-stage="C1"] .cx-tile').first.bounding_box()["width"]
        assert side >= 60, side  # the issue measured ~60 px maps in a zig-zag of cards
        lines = page.evaluate("Array.from(document.querySelectorAll('#stages .cx-join svg path'))"
                              ".reduce((n, p) => n + (p.getAttribute('d').match(/M/g) || []).length, 0)")
        assert lines > 100, lines  # which maps feed which
        assert "Click any map" in text_of(page, ".cx-flowhint")
    finally:
        ctx.close()


def test_a_click_on_a_map_opens_its_arithmetic_in_view_with_the_map_outlined(browser, app_url):
    """Finding 1: a click on a C1 map: the detail's top comes into view, the tile is outlined
    (and the same map after ReLU), and the detail is about that map."""
    ctx, page = first_visit(browser, app_url)
    try:
        wait_for(lambda: top_label(page) == "7", 30, "the example read")
        settled(page)
        tile = page.locator('#stages [data-stage="C1"] .cx-tile[data-ch="2"]')
        tile.scroll_into_view_if_needed()
        box = tile.bounding_box()
        page.mouse.click(box["x"] + 12.5 * box["width"] / 28, box["y"] + 10.5 * box["height"] / 28)
        wait_text(page, "#unit-detail h3", "C1, map 2 at row 10, column 12")
        wait_for(lambda: in_view(page, "#unit-detail h3", 40), 10, "the detail's top in view")
        outlined = page.evaluate("Array.from(document.querySelectorAll('#stages .cx-picked'))"
                                 ".map(t => t.closest('[data-stage]').dataset.stage + ':' + t.dataset.ch)")
        assert sorted(outlined) == ["C1:2", "C1_relu:2"], outlined
        # a cell of the logits: outlined too, and no position to choose in a single number
        page.locator('#stages [data-stage="OUTPUT"] img.cx-up').click(position={"x": 8, "y": 7 * 28 + 14})
        wait_text(page, "#unit-detail h3", "OUTPUT, digit 7")
        wait_for(lambda: page.locator("#stages .cx-vmark.cx-picked").count() == 1, 10, "the logit outlined")
        assert not page.locator("#unit-row").is_visible() and not page.locator("#unit-slide").is_visible()
    finally:
        ctx.close()


# lesson → what its words say shows, checked once it is set up (the lessons done in order, one page)
def playground_is(page, source: str, output: str):
    wait_for(lambda: source in page.locator("#pg-source input").first.input_value(), 30, source)
    wait_text(page, "#pg-output", output)


LESSONS = {
    1: ("Convolution playground", lambda p: (playground_is(p, "Tiny 6×6", "1×4×4"),
                                             wait_text(p, "#pg-walk", "Step 1 of 16"))),
    2: ("Convolution playground", lambda p: playground_is(p, "Tiny 8×8", "1×3×3")),
    3: ("Convolution playground", lambda p: (playground_is(p, "cameraman", "3×512×512"),
                                             wait_text(p, "#pg-kernel-view", "Box blur 3×3"))),
    4: ("Convolution playground", lambda p: (playground_is(p, "cameraman", "max pooling 2×2"),
                                             wait_text(p, "#pg-output", "1×256×256"))),
    5: ("Convolution playground", lambda p: (playground_is(p, "rocket", "1×342×512"),
                                             wait_for(lambda: "ReLU" not in text_of(p, "#pg-output")
                                                      and "pooling" not in text_of(p, "#pg-output"), 30,
                                                      "lesson 4's ReLU and pooling gone"),
                                             wait_text(p, "#pg-colour", "seed 7"))),
    6: ("Draw", lambda p: (wait_for(lambda: top_label(p) == "3", 30, "the example 3 read"),
                           wait_text(p, "#unit-detail h3", "C3, map 5 at row 4, column 4"))),
    7: ("Train & Hub", lambda p: True),
    8: ("Why this digit?", lambda p: wait_text(p, "#why-status", "The model reads 7")),
}


def test_lessons_in_order_each_show_what_they_say_with_their_words_in_view(browser, app_url):
    """Findings 2 and 3: the tour, lesson after lesson from the strip: each opens its tab with
    its own settings over the app's defaults (not the last lesson's), its words stay on screen
    while the learner works, and the panel it speaks of is in view."""
    ctx, page = first_visit(browser, app_url)
    try:
        page.locator("#tour").click()
        for n, (tab, shows) in LESSONS.items():
            wait_text(page, "#strip-text", f"Lesson {n} of 8")
            wait_for(lambda: selected_tab(page) == tab, 30, f"lesson {n}'s tab")
            shows(page)
            assert in_view(page, "#lesson-strip") and "Try this:" in text_of(page, "#strip-text"), n
            assert strip_share(page) <= 0.4, f"lesson {n}: the strip takes {strip_share(page):.0%} of the window"
            page.mouse.wheel(0, 600)  # the learner scrolls to work: the lesson's words stay
            page.wait_for_timeout(300)
            assert in_view(page, "#lesson-strip"), f"lesson {n}: the strip scrolled away"
            page.mouse.wheel(0, -600)
            if n < 8:
                page.locator("#strip-next").click()
        assert page.locator("#strip-next").inner_text().strip() == "Finish ✓"
    finally:
        ctx.close()


def strip_share(page) -> float:
    """How much of the window's height the lesson strip takes (it stays over the page)."""
    return page.evaluate("document.querySelector('#lesson-strip').getBoundingClientRect().height / innerHeight")


def test_on_a_phone_the_tour_leaves_room_to_work(browser, app_url):
    """A newcomer's walk: the strip's text column had a 480-px flex-basis, its height in a column
    (615 px on a 1400×900 screen, 1018 px on a 844-px phone: nothing of the lesson's tab could
    be reached), and its question wrapped a few letters a line."""
    ctx, page = first_visit(browser, app_url, viewport={"width": 390, "height": 844}, is_mobile=True,
                            has_touch=True)
    try:
        page.locator("#tour").click()
        wait_text(page, "#strip-text", "Lesson 1 of 8")
        wait_text(page, "#strip-q", "How big is the output?")
        assert strip_share(page) <= 0.5, f"the strip takes {strip_share(page):.0%} of the phone's screen"
        q = page.locator("#strip-q").bounding_box()
        assert q["width"] >= 300, q  # the question is as wide as the strip, not a column of word pieces
    finally:
        ctx.close()


def test_a_lesson_brings_the_panel_it_speaks_of_into_view(browser, app_url):
    """Finding 3: lesson 1 speaks of the step-by-step view (below the fold on the playground),
    lesson 5 of the colour section (closed as the app opens)."""
    ctx, page = first_visit(browser, app_url)
    try:
        page.locator("#tour").click()
        wait_text(page, "#pg-walk", "Step 1 of 16")
        wait_for(lambda: in_view(page, "#pg-steps", 100), 10, "the step-by-step view in view")
        for n in range(2, 6):  # on through the strip, each lesson in turn
            page.locator("#strip-next").click()
            wait_text(page, "#strip-text", f"Lesson {n} of 8")
        wait_text(page, "#pg-colour", "seed 7")
        wait_for(lambda: in_view(page, "#pg-colour-box", 100), 10, "the colour section open and in view")
    finally:
        ctx.close()


def test_a_lessons_question_is_answered_by_the_live_app(browser, app_url):
    """Predict, then reveal: lesson 2 asks for the output size with padding 1 and stride 2; the
    app answers with its own convolution, whatever the learner picked."""
    ctx, page = first_visit(browser, app_url)
    try:
        page.locator("#tour").click()
        wait_text(page, "#strip-text", "Lesson 1 of 8")
        page.locator("#strip-next").click()
        wait_text(page, "#strip-q", "padding 1 and stride 2")
        page.locator("#strip-answer label", has_text="6×6").click()
        page.locator("#strip-check").click()
        wait_text(page, "#strip-verdict", "Not quite: it is 4×4, not 6×6.")
        page.locator("#strip-answer label", has_text="4×4").click()
        page.locator("#strip-check").click()
        said = wait_text(page, "#strip-verdict", "Right: 4×4.")
        assert "⌊" in said  # the app's own formula, filled in
    finally:
        ctx.close()


def test_on_a_phone_the_answer_is_under_the_canvas(browser, app_url):
    """Finding 5: on a 390×844 phone, after a stroke, the prediction is on the first screen
    (no scrolling); the canvas's label is not cut; Lessons is reached without the "⋯" menu."""
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    try:
        page.goto(app_url)
        canvas_box(page)
        wait_for(lambda: top_label(page) == "7", 30, "the example read")
        settled(page)
        draw(page, pen_digit(5, 0), touch=ctx.new_cdp_session(page), steps=2)
        wait_for(lambda: top_label(page) == "5", 30, "the drawn 5 read")
        assert page.evaluate("scrollY") == 0
        assert in_view(page, "#prediction", 60), page.evaluate("document.querySelector('#prediction')"
                                                                ".getBoundingClientRect().top")
        label = page.locator("#sketchpad .cx-padlabel")  # whole, not "Draw a digit (0" cut by a toolbar
        box = label.bounding_box()
        assert label.inner_text() == "Draw a digit (0–9)" and box["x"] >= 0 and box["x"] + box["width"] <= 390
        assert page.evaluate("document.querySelector('#sketchpad .cx-padlabel').scrollWidth"
                             " <= document.querySelector('#sketchpad .cx-padlabel').clientWidth")
        assert page.get_by_role("tab", name="Lessons").first.is_visible()
    finally:
        ctx.close()
