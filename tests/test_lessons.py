"""Lessons are text files a teacher writes: each bundled one is read, and its view names only
controls the app has, with values those controls take; a broken file is named, not a crash."""
import pytest

from cnn_demo import lessons
from cnn_demo.ui.share import TABS, accepted


def test_the_bundled_path_follows_how_cnns_are_taught():
    got, problems = lessons.load()
    assert not problems
    assert [ls.title for ls in got] == [
        "A convolution by hand", "Padding, stride and the output size", "Several filters at once",
        "ReLU, LeakyReLU and pooling", "Colour images and 3-D filters", "LeNet-5 reads your digit, stage by stage",
        "What trained filters look like", "Why the network answered as it did"]
    assert all(ls.body and ls.try_this and ls.view.get("tab") for ls in got)


def test_every_lessons_view_is_one_the_app_can_set(app_demo):
    """A teacher's typo (a setting's key, a kernel's name, a stride out of range) fails here."""
    linked, restored = app_demo.linked, app_demo.restored
    for ls in lessons.load()[0]:
        assert ls.view["tab"] in set(TABS.values()), ls.name
        for key, value in ls.view.get("set", {}).items():
            assert key in linked or key in restored, (ls.name, key, sorted(linked | restored))
            assert key in restored or accepted(linked[key], value) is not None, (ls.name, key, value)


@pytest.mark.parametrize("text,said", [
    ("no header", "starts with a '---' line"), ("---\ntitle: x\nno end", "no closing"),
    ("---\ntry: x\n---\nbody", "no title"), ("---\ntitle: x\nview: {nope\n---\n", "not JSON"),
    ("---\ntitle: x\nview: [1]\n---\n", "JSON object"),
])
def test_a_broken_lesson_file_is_named(tmp_path, text, said):
    (tmp_path / "01-good.md").write_text("---\ntitle: Good\n---\n- a list item stays a list item\n")
    (tmp_path / "02-bad.md").write_text(text)
    got, problems = lessons.load(tmp_path)
    assert [ls.title for ls in got] == ["Good"] and got[0].body == "- a list item stays a list item"
    assert len(problems) == 1 and problems[0].startswith("02-bad:") and said in problems[0]
