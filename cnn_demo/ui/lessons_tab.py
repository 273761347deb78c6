"""Lessons tab: a short path through the app (cnn_demo/lessons.py reads the text files in
`lessons/`). Each lesson says a few sentences, one thing to try, and sets the app up for it
in one click, through the same state a share link holds (ui/share.py wires the button)."""
from __future__ import annotations

import gradio as gr

from .. import lessons as core
from ..views.common import md_text
from .shared import Shared


def lesson_md(all_lessons: list, i: int) -> str:
    if not all_lessons:
        return "No lessons here: add Markdown files to `lessons/` (see its format in `cnn_demo/lessons.py`)."
    i = max(0, min(int(i or 0), len(all_lessons) - 1))
    ls = all_lessons[i]
    try_this = f"\n\n**Try this:** {ls.try_this}" if ls.try_this else ""
    return f"### Lesson {i + 1} of {len(all_lessons)}: {md_text(ls.title)}\n\n{ls.body}{try_this}"


def titles(all_lessons: list) -> list[tuple[str, int]]:
    return [(f"{i + 1}. {ls.title}", i) for i, ls in enumerate(all_lessons)]


def go(all_lessons: list, i, step: int):
    """Previous/next: the lesson's choice and its text."""
    n = max(len(all_lessons), 1)
    j = max(0, min(int(i or 0) + step, n - 1))
    return gr.update(value=j), lesson_md(all_lessons, j)


def build(shared: Shared):
    all_lessons, problems = core.load()
    with gr.Tab("Lessons", id="lessons", elem_id="lessons"):
        gr.Markdown("## Lessons\nA path through the app in the order CNNs are taught. Each lesson sets the "
                    "app up for you in one click; then try the one thing it suggests.")
        if problems:
            gr.Markdown("⚠️ Some lesson files could not be read:\n" + "\n".join(f"- {md_text(p)}" for p in problems))
        pick = gr.Dropdown(titles(all_lessons), value=0 if all_lessons else None, label="Lesson",
                           elem_id="lesson-pick")
        text = gr.Markdown(lesson_md(all_lessons, 0), elem_id="lesson-text")
        with gr.Row():
            prev = gr.Button("← Previous", size="sm", elem_id="lesson-prev")
            setup = gr.Button("Set up this lesson", variant="primary", elem_id="lesson-setup")
            nxt = gr.Button("Next →", size="sm", elem_id="lesson-next")
    quiet = dict(show_progress="hidden", api_visibility="private")
    pick.change(lambda i: lesson_md(all_lessons, i), pick, text, **quiet)
    prev.click(lambda i: go(all_lessons, i, -1), pick, [pick, text], **quiet)
    nxt.click(lambda i: go(all_lessons, i, +1), pick, [pick, text], **quiet)
    shared.parts["lessons"] = (all_lessons, pick, setup)
