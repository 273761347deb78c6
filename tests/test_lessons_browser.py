"""Each lesson's "Start this lesson" button, in Chromium on the real app: it opens the tab the
lesson is about, with its digit, model and settings in place, and its words in the lesson strip."""
import os

import pytest

from browser import CHROMIUM, fresh, open_tab, selected_tab, top_label, wait_for, wait_text

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)
pytest.importorskip("playwright.sync_api")


def value_of(page, elem_id: str) -> str:
    return page.locator(f"#{elem_id} input").first.input_value()


# lesson number → (its tab, what shows there once it is set up)
EXPECT = {
    1: ("Convolution playground", lambda p: wait_text(p, "#pg-walk", "Step 1 of 16")),
    2: ("Convolution playground", lambda p: wait_text(p, "#pg-output", "⌊(8 + 2·0 − 3)/2⌋ + 1 = 3")
        and wait_text(p, "#pg-output", "1×3×3")),
    3: ("Convolution playground", lambda p: wait_text(p, "#pg-kernel-view", "Box blur 3×3")),
    4: ("Convolution playground", lambda p: wait_text(p, "#pg-output", "max pooling 2×2")),
    5: ("Convolution playground", lambda p: wait_for(lambda: "rocket" in value_of(p, "pg-source"), 30, "the RGB photo")),
    6: ("Draw", lambda p: wait_text(p, "#unit-detail h3", "C3, map 5 at row 4, column 4")
        and wait_for(lambda: top_label(p) == "3", 30, "the example 3 read")),
    7: ("Train & Hub", lambda p: True),
    8: ("Why this digit?", lambda p: wait_for(lambda: value_of(p, "model").startswith("lenet5"), 30, "LeNet-5")),
}


@pytest.fixture(scope="module")
def page(browser, app_url):
    pg = browser.new_page(viewport={"width": 1300, "height": 1000})
    fresh(pg, app_url)
    yield pg
    pg.close()


def test_next_and_previous_walk_the_path(page, app_url):
    fresh(page, app_url)  # from the first lesson, wherever the other tests of this module left the page
    open_tab(page, "Lessons")
    wait_text(page, "#lesson-text", "Lesson 1 of 8: A convolution by hand")
    page.locator("#lesson-next").click()
    wait_text(page, "#lesson-text", "Lesson 2 of 8: Padding, stride")
    page.locator("#lesson-prev").click()
    wait_text(page, "#lesson-text", "Lesson 1 of 8")
    page.locator("#lesson-prev").click()  # the first lesson has no previous one: it stays
    wait_text(page, "#lesson-text", "Lesson 1 of 8")


@pytest.mark.parametrize("n", sorted(EXPECT))
def test_each_lessons_set_up_button(page, n):
    open_tab(page, "Lessons")
    for _ in range(8):  # walk to lesson n with the Next/Previous buttons
        now = int(wait_text(page, "#lesson-text", "Lesson").split("Lesson ")[1].split(" ")[0])
        if now == n:
            break
        page.locator("#lesson-next" if now < n else "#lesson-prev").click()
        wait_text(page, "#lesson-text", f"Lesson {now + (1 if now < n else -1)} of 8")
    page.locator("#lesson-setup").click()
    tab, shows = EXPECT[n]
    wait_for(lambda: selected_tab(page) == tab, 30, f"the {tab} tab")
    assert shows(page)
    wait_text(page, "#strip-text", f"Lesson {n} of 8")  # its words stay above the tabs
