"""The UI floor: one module per tab; each builds components and wires them to the core."""
import gradio as gr


def refuse(message: str) -> gr.Error:
    """An error for the learner or API caller: a sentence in the page, no server traceback
    (these are expected inputs, not faults)."""
    return gr.Error(message, print_exception=False)
