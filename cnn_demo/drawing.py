"""The learner's drawing and model choice, as every tab reads them: the canvas's value as an
array, whether anything is drawn, the network's input made from it, and which checkpoint(s)
the Draw tab's choice names (one, or two side by side)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .preprocess import InputError, Preprocessed, preprocess

INK = 250  # a canvas pixel darker than this is ink (the paper is 255; the brush is 0)
COMPARE = "lenet5+tinycnn"  # the model list's side-by-side choice
COMPARE_TITLE = "LeNet-5 and TinyCNN, side by side"
DEFAULT = "lenet5"
EMPTY = "Draw a digit on the Draw tab first."
EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples" / "digits").glob("*.png"))  # MNIST test digits
EXAMPLE = 7  # the digit the Draw tab shows flowing through the network until the learner draws


def example(digit: int = EXAMPLE) -> np.ndarray | None:
    """A bundled example digit as the canvas holds it (black ink on white), or None."""
    from PIL import Image
    path = next((p for p in EXAMPLES if p.stem.endswith(f"label{digit}")), None)
    return None if path is None else np.asarray(Image.open(path).convert("L"))


def sketch_array(value) -> np.ndarray | None:
    """The canvas's composite as an array (its value is a dict of layers, or an array)."""
    if value is None:
        return None
    if isinstance(value, dict):
        value = value.get("composite")
    return None if value is None else np.asarray(value)


def is_blank(img: np.ndarray | None) -> bool:
    return img is None or not (np.asarray(img) < INK).any()


def drawn(value) -> np.ndarray | None:
    """The drawing as an array, or None for an empty canvas."""
    img = sketch_array(value)
    return None if is_blank(img) else img


def prepared(value) -> Preprocessed:
    """The drawing as the network sees it (28×28, MNIST-style); InputError for an empty canvas."""
    img = drawn(value)
    if img is None:
        raise InputError(EMPTY)
    return preprocess(img, paper="light")


def model_names(choice: str | None) -> list[str]:
    """The checkpoint names a model choice stands for: one, or two for side by side."""
    choice = choice or DEFAULT
    return choice.split("+") if choice == COMPARE else [choice]


def first_model(choice: str | None) -> str:
    """The one checkpoint a single-model view (Why, Insights) uses for the choice."""
    return model_names(choice)[0]


def model_choices(registry) -> list[tuple[str, str]]:
    """Every checkpoint the app knows (bundled, trained here, from the Hub), plus side by side."""
    choices = [(_cautioned(label, registry, name), name) for label, name in registry.choices()]
    if set(model_names(COMPARE)) <= set(registry.names()):
        choices.append((COMPARE_TITLE, COMPARE))
    return choices


def _cautioned(label: str, registry, name: str) -> str:
    """A barely trained checkpoint says so in the list, before anyone reads its answers:
    "my-lenet5-1 (LeNet-5, 28.00% on MNIST — barely trained)"."""
    entry = registry.peek(name)
    if entry is None or not entry.ck.barely_trained:  # (a Hub checkpoint may be dropped meanwhile)
        return label
    return label[:-1] + " — barely trained)" if label.endswith(")") else label + " (barely trained)"


__all__ = ["sketch_array", "is_blank", "drawn", "prepared", "model_names", "first_model", "model_choices",
           "COMPARE", "EMPTY", "INK"]
