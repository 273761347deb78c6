"""Lessons: a short path through the app in the order CNNs are taught. Each lesson is a small
text file in `lessons/` that a teacher can write without touching Python:

    ---
    title: A convolution by hand
    try: Step the kernel one position and check one sum yourself.
    view: {"tab": "playground", "set": {"pg.src": "Tiny 6×6 squares", "pg.k": ["Vertical edge"]}, "focus": "pg-walk"}
    ask: {"q": "How big is the output?", "check": "output_size", "choices": ["6×6", "4×4"]}
    ---
    A few sentences of Markdown.

`view` is the same state a share link holds (cnn_demo/share_link.py): the tab, the model, the
settings by their link keys (README, "Share links"), and `"example": d` for the bundled example
digit d on the canvas; a lesson's view may also name accordions to open (`"open": [keys]`) and
the element to bring into view (`"focus": element id`). Every setting it does not name starts
as the app opens it. `ask` is a question to answer before looking, checked against the live
app (cnn_demo/quiz.py names the checks). Files are read in name order; one that cannot be read
is skipped and named, never a crash.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

FOLDER = Path(__file__).resolve().parents[1] / "lessons"
MAX_BYTES = 16_384  # a lesson is a few sentences


@dataclass
class Lesson:
    name: str  # the file's stem: its place in the path
    title: str
    body: str
    try_this: str = ""
    view: dict = field(default_factory=dict)
    ask: dict = field(default_factory=dict)  # {"q": question, "check": a quiz check, "args": {...}, "choices": [...]}


class LessonError(ValueError):
    """A lesson file that cannot be read; the message says which and why."""


def parse(text: str, name: str = "lesson") -> Lesson:
    if not text.startswith("---"):
        raise LessonError(f"{name}: a lesson starts with a '---' line, then title/try/view lines, then '---'.")
    head, sep, body = text[3:].partition("\n---")
    if not sep:
        raise LessonError(f"{name}: the lesson's header has no closing '---' line.")
    fields = {}
    for line in head.strip().splitlines():
        key, colon, value = line.partition(":")
        if colon and key.strip() in ("title", "try", "view", "ask"):
            fields[key.strip()] = value.strip()
    if not fields.get("title"):
        raise LessonError(f"{name}: the lesson has no title line.")
    view = _json(fields, "view", name) if fields.get("view") else {}
    ask = _json(fields, "ask", name) if fields.get("ask") else {}
    if ask and not (isinstance(ask.get("q"), str) and isinstance(ask.get("check"), str)
                    and isinstance(ask.get("args", {}), dict) and isinstance(ask.get("choices"), list)
                    and 2 <= len(ask["choices"]) <= 6 and all(isinstance(c, str) for c in ask["choices"])):
        raise LessonError(f'{name}: its ask line needs "q" (the question), "check" (what the app computes), '
                          f'"choices" (2 to 6 answers, as text) and optionally "args" {{...}}.')
    body = body.split("\n", 1)[1] if "\n" in body else ""  # what follows the closing '---' line
    return Lesson(name, fields["title"], body.strip(), fields.get("try", ""), view, ask)


def _json(fields: dict, key: str, name: str) -> dict:
    try:
        v = json.loads(fields[key])
    except json.JSONDecodeError as e:
        raise LessonError(f"{name}: its {key} line is not JSON ({e.msg}, column {e.colno}).") from None
    if not isinstance(v, dict):
        raise LessonError(f"{name}: its {key} line must be a JSON object {{...}}.")
    return v


def load(folder: Path = FOLDER) -> tuple[list[Lesson], list[str]]:
    """The lessons in name order, and a sentence for each file that could not be read."""
    lessons, problems = [], []
    for path in sorted(Path(folder).glob("*.md")):
        try:
            if path.stat().st_size > MAX_BYTES:
                raise LessonError(f"{path.stem}: over {MAX_BYTES // 1024} KB; a lesson is a few sentences.")
            lessons.append(parse(path.read_text(encoding="utf-8"), path.stem))
        except (LessonError, OSError, UnicodeDecodeError) as e:
            problems.append(str(e) if isinstance(e, LessonError) else f"{path.stem}: {type(e).__name__}")
    return lessons, problems
