"""A lesson file at the size bound and one byte over it, every way a file can fail to be read,
and the header's fields read line by line."""
import pytest

from cnn_demo import lessons
from cnn_demo.lessons import LessonError, parse


def _lesson_of_size(n: int) -> str:
    head = "---\ntitle: Long\n---\n"
    return head + "x" * (n - len(head))


def test_a_lesson_of_exactly_16_kb_is_read_and_one_byte_more_is_named(tmp_path):
    (tmp_path / "01-edge.md").write_text(_lesson_of_size(lessons.MAX_BYTES))
    (tmp_path / "02-over.md").write_text(_lesson_of_size(lessons.MAX_BYTES + 1))
    assert (tmp_path / "01-edge.md").stat().st_size == 16_384
    got, problems = lessons.load(tmp_path)
    assert [ls.name for ls in got] == ["01-edge"] and got[0].body == "x" * (16_384 - 20)
    assert problems == ["02-over: over 16 KB; a lesson is a few sentences."]


def test_files_that_cannot_be_read_are_named_by_their_error(tmp_path):
    (tmp_path / "01-latin1.md").write_bytes("---\ntitle: Café\n---\n".encode("latin-1"))
    (tmp_path / "02-folder.md").mkdir()
    (tmp_path / "03-good.md").write_text("---\ntitle: Good\n---\n")
    (tmp_path / "04-not-a-lesson.txt").write_text("ignored: not .md")
    got, problems = lessons.load(tmp_path)
    assert [ls.title for ls in got] == ["Good"]
    assert problems == ["01-latin1: UnicodeDecodeError", "02-folder: IsADirectoryError"]


def test_an_empty_or_missing_folder_has_no_lessons(tmp_path):
    assert lessons.load(tmp_path) == ([], [])
    assert lessons.load(tmp_path / "none") == ([], [])


def test_the_header_is_read_field_by_field():
    ls = parse("---\n title : A title \nnot a field\nauthor: ignored\ntry:  Step it once.\n"
               'view: {"tab": "playground", "set": {"pg.k": ["Sobel x"]}}\n---\nFirst line.\n\nSecond.\n', "07-x")
    assert (ls.name, ls.title, ls.try_this) == ("07-x", "A title", "Step it once.")
    assert ls.view == {"tab": "playground", "set": {"pg.k": ["Sobel x"]}}
    assert ls.body == "First line.\n\nSecond."


def test_a_lesson_without_a_body_or_view_or_try():
    ls = parse("---\ntitle: Only a title\n---")
    assert (ls.title, ls.body, ls.try_this, ls.view) == ("Only a title", "", "", {})
    assert parse("---\ntitle: t\nview:\n---\nbody").view == {}  # an empty view line is no view


def test_the_closing_line_ends_the_header_and_the_rest_of_its_line_is_not_the_body():
    ls = parse("---\ntitle: t\n--- trailing words\nbody text\n")
    assert ls.body == "body text"


@pytest.mark.parametrize("text,said", [
    ("title: x\n---\n", "07-x: a lesson starts with a '---' line, then title/try/view lines, then '---'."),
    ("---\ntitle: x\n", "07-x: the lesson's header has no closing '---' line."),
    ("---\ntitle:   \n---\n", "07-x: the lesson has no title line."),
    ("---\ntitle: x\nview: {\"a\": }\n---\n", "07-x: its view line is not JSON (Expecting value, column 7)."),
    ("---\ntitle: x\nview: \"a\"\n---\n", "07-x: its view line must be a JSON object {...}."),
])
def test_each_broken_header_gets_its_sentence(text, said):
    with pytest.raises(LessonError) as e:
        parse(text, "07-x")
    assert str(e.value) == said


def test_a_rule_in_the_body_is_the_bodys():
    ls = parse("---\ntitle: T\n---\nintro\n---\nmore\n")
    assert ls.title == "T" and ls.body == "intro\n---\nmore"


def test_an_empty_header_has_no_title_and_a_word_without_a_colon_is_no_field():
    with pytest.raises(LessonError, match="^x: the lesson has no title line.$"):
        parse("---\n---\nbody", "x")
    assert parse("---\ntitle: Kept\ntitle\ntry\n---\n").title == "Kept"
    assert parse("---\ntitle: Kept\ntitle\ntry\n---\n").try_this == ""


def test_a_lesson_parsed_without_a_name_is_called_lesson():
    with pytest.raises(LessonError, match="^lesson: a lesson starts with"):
        parse("no header")
    assert parse("---\ntitle: t\n---\n").name == "lesson"
