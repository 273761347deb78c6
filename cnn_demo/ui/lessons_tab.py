"""Lessons: a short path through the app (cnn_demo/lessons.py reads the text files in
`lessons/`). The tab lists them; starting one — from the tab, from the header's "Take the tour",
or from the lesson strip — sets the app up for it through the same state a share link holds
(ui/share.py `apply_state`), opens its tab at the panel it speaks of, and keeps the lesson's
words in a strip above the tabs while the learner does what it says: its "try this", and a
question to answer before looking, checked against the live app (cnn_demo/quiz.py)."""
from __future__ import annotations

import gradio as gr

from .. import drawing, quiz
from .. import lessons as core
from ..preprocess import InputError
from ..registry import UnknownCheckpoint
from ..views.common import md_text
from . import say
from .share import apply_state, to_tab, view_outputs
from .shared import Shared, bound

ALL, PROBLEMS = core.load()

# after a lesson's set-up: the panel it speaks of (its view's "focus", else the tabs) brought
# into view below the strip, once its tab has rendered it
FOCUS_JS = """(id) => {
  let tries = 0;
  const go = () => {
    const el = (id && document.getElementById(id)) || document.querySelector('#cx-tabs');
    if (!el || el.getBoundingClientRect().height === 0) { if (tries++ < 25) setTimeout(go, 120); return; }
    const strip = document.getElementById('lesson-strip');
    const below = strip && getComputedStyle(strip).position === 'sticky' ? strip.getBoundingClientRect().height : 0;
    window.scrollBy({ top: el.getBoundingClientRect().top - below - 10, behavior: 'instant' });
  };
  setTimeout(go, 150);
  return [];
}"""


def lesson_md(all_lessons: list, i: int) -> str:
    if not all_lessons:
        return "No lessons here: add Markdown files to `lessons/` (see its format in `cnn_demo/lessons.py`)."
    i = max(0, min(int(i or 0), len(all_lessons) - 1))
    ls = all_lessons[i]
    try_this = f"\n\n**Try this:** {ls.try_this}" if ls.try_this else ""
    return f"### Lesson {i + 1} of {len(all_lessons)}: {md_text(ls.title)}\n\n{ls.body}{try_this}"


def strip_md(all_lessons: list, i: int) -> str:
    """The lesson's words that stay in view on the tab it opens: where the learner is, what to do."""
    ls = all_lessons[i]
    return (f"**Lesson {i + 1} of {len(all_lessons)} · {md_text(ls.title)}** — "
            f"**Try this:** {ls.try_this}")


def titles(all_lessons: list) -> list[tuple[str, int]]:
    return [(f"{i + 1}. {ls.title}", i) for i, ls in enumerate(all_lessons)]


def go(all_lessons: list, i, step: int):
    """Previous/next in the list: the lesson's choice and its text."""
    n = max(len(all_lessons), 1)
    j = max(0, min(int(i or 0) + step, n - 1))
    return gr.update(value=j), lesson_md(all_lessons, j)


def start(shared: Shared, all_lessons: list, i) -> dict:
    """Lesson i set up (its view, over the app's own defaults) with its strip showing; past the
    last lesson, the strip closes with a word that the path is done."""
    p = shared.parts["lessons"]
    try:
        i = int(i)
    except (TypeError, ValueError):
        i = -1
    if not 0 <= i < len(all_lessons):
        done = i >= len(all_lessons) > 0
        said = "That was the last lesson: the whole app is yours now." if done else "Choose a lesson first."
        return {p["box"]: gr.update(visible=False), p["current"]: -1, shared.parts["status"]: say(said, "🎓" if done
                                                                                                  else "⚠️")}
    ls = all_lessons[i]
    out = apply_state(shared, ls.view, "")  # the strip says which lesson; the status line only what went wrong
    last = i == len(all_lessons) - 1
    out.update({p["box"]: gr.update(visible=True), p["text"]: strip_md(all_lessons, i), p["current"]: i,
                p["prev"]: gr.update(interactive=i > 0),
                p["next"]: gr.update(value="Finish ✓" if last else "Next lesson →"),
                p["ask"]: gr.update(visible=bool(ls.ask)), p["q"]: md_text(ls.ask.get("q", "")),
                p["answer"]: gr.update(choices=ls.ask.get("choices", []), value=None), p["verdict"]: "",
                p["focus"]: str(ls.view.get("focus") or ""), p["pick"]: gr.update(value=i),
                p["lesson_text"]: lesson_md(all_lessons, i)})
    return out


def check(shared: Shared, all_lessons: list, i, given, value, choice, *playground) -> str:
    """The learner's answer to the lesson's question, against the live app."""
    try:
        ls = all_lessons[int(i)]
    except (TypeError, ValueError, IndexError):
        return say("Start a lesson first.")
    ctx = quiz.Context()
    try:
        entry = shared.registry.get(drawing.first_model(choice))
        ctx.model, ctx.title = entry.ck.model, entry.ck.name
        ctx.x = drawing.prepared(value).tensor()
    except (InputError, UnknownCheckpoint):
        pass  # the checks that need them say so
    inputs, context = shared.parts["playground"]
    ctx.image, ctx.conv, ctx.seed = context(*playground)
    right, said = quiz.grade(ls.ask, given, ctx)
    return say(said, "✅" if right else "❌" if right is False else "⚠️")


def strip(shared: Shared, tour):
    """The lesson strip, above the tabs (hidden until a lesson starts): the lesson's words, its
    question, and the way on. `tour` (the header's button) starts the first lesson."""
    with gr.Group(visible=False, elem_id="lesson-strip") as box:
        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=300):
                text = gr.Markdown(elem_id="strip-text")
            with gr.Column(scale=0, min_width=330):
                with gr.Row(elem_classes=["cx-strip-nav"]):
                    prev = gr.Button("← Previous", size="sm", elem_id="strip-prev", min_width=90)
                    nxt = gr.Button("Next lesson →", size="sm", variant="primary", elem_id="strip-next",
                                    min_width=120)
                    close = gr.Button("✕ Close", size="sm", elem_id="strip-close", min_width=80)
        with gr.Row(visible=False, equal_height=False, elem_id="strip-ask") as ask:
            q = gr.Markdown(elem_id="strip-q")
            answer = gr.Radio([], label="Your answer, before you look", elem_id="strip-answer")
            with gr.Column(scale=0, min_width=110):
                check_btn = gr.Button("Check", size="sm", variant="primary", elem_id="strip-check")
            verdict = gr.Markdown(elem_id="strip-verdict")
    shared.parts["lessons"] = {"box": box, "text": text, "prev": prev, "next": nxt, "close": close, "ask": ask,
                               "q": q, "answer": answer, "check": check_btn, "verdict": verdict, "tour": tour,
                               "current": gr.State(-1), "focus": gr.Textbox(visible="hidden", elem_id="strip-focus")}


def build(shared: Shared):
    with gr.Tab("Lessons", id="lessons", elem_id="lessons"):
        gr.Markdown("## Lessons\nA path through the app in the order CNNs are taught. **Start** one and the app is "
                    "set up for it; its words stay above the tabs while you try what it says, with a question to "
                    "answer before you look. Or press **Take the tour** at the top to begin with the first.")
        if PROBLEMS:
            gr.Markdown("⚠️ Some lesson files could not be read:\n" + "\n".join(f"- {md_text(p)}" for p in PROBLEMS))
        pick = gr.Dropdown(titles(ALL), value=0 if ALL else None, label="Lesson", elem_id="lesson-pick")
        text = gr.Markdown(lesson_md(ALL, 0), elem_id="lesson-text")
        with gr.Row():
            prev = gr.Button("← Previous", size="sm", elem_id="lesson-prev")
            setup = gr.Button("Start this lesson", variant="primary", elem_id="lesson-setup")
            nxt = gr.Button("Next →", size="sm", elem_id="lesson-next")
    quiet = dict(show_progress="hidden", api_visibility="private")
    pick.change(lambda i: lesson_md(ALL, i), pick, text, **quiet)
    prev.click(lambda i: go(ALL, i, -1), pick, [pick, text], **quiet)
    nxt.click(lambda i: go(ALL, i, +1), pick, [pick, text], **quiet)
    shared.parts["lessons"].update(pick=pick, lesson_text=text, setup=setup)


def wire(shared: Shared):
    """The events that start a lesson and check its answers: after every tab is built, since a
    lesson's view sets controls of all of them."""
    p = shared.parts["lessons"]
    outputs = list(dict.fromkeys(view_outputs(shared) + [
        p[k] for k in ("box", "text", "current", "prev", "next", "ask", "q", "answer", "verdict", "focus", "pick",
                       "lesson_text")]))
    quiet = dict(show_progress="hidden", api_visibility="private")
    begin = bound(start, shared, ALL)
    for trigger, inputs, fn in ((p["setup"].click, [p["pick"]], begin),
                                (p["tour"].click, [], lambda: begin(0)),
                                (p["prev"].click, [p["current"]], lambda i: begin(int(i) - 1)),
                                (p["next"].click, [p["current"]], lambda i: begin(int(i) + 1))):
        trigger(fn, inputs, outputs, **quiet) \
            .then(to_tab, shared.parts["tab"], shared.tabs, **quiet) \
            .then(None, p["focus"], None, js=FOCUS_JS, **quiet)
    p["close"].click(lambda: (gr.update(visible=False), -1), None, [p["box"], p["current"]], **quiet)
    inputs, _ = shared.parts["playground"]
    p["check"].click(bound(check, shared, ALL), [p["current"], p["answer"], shared.sketch, shared.model] + inputs,
                     p["verdict"], **quiet)
