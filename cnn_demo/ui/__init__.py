"""The UI floor: one module per tab; each builds components and wires them to the core.

Every message that reaches the page goes through `say` (Markdown) or `refuse` (the error
toast, which Gradio renders as HTML): both escape it, because messages quote what visitors
and Hub files supply (names, tensor names, revisions) and that must show as text.
"""
import html

import gradio as gr

from ..views.common import md_text


def refuse(message: str) -> gr.Error:
    """An error for the learner or API caller: a sentence in the page, no server traceback
    (these are expected inputs, not faults)."""
    return gr.Error(html.escape(str(message), quote=False), print_exception=False)


def say(message, icon: str = "⚠️") -> str:
    """A status line for a Markdown output: an icon and the message as plain text."""
    return f"{icon} {md_text(message)}" if icon else md_text(message)


def moved(value, held, **props):
    """A picker's update: `props` (its choices, its range), and `value` only where it differs
    from what the picker holds. An answer that lands after a newer pick, or mid-drag, must not
    put the old value back."""
    return gr.update(**props) if value == held else gr.update(**props, value=value)
