"""One drawing → everything the Draw tab shows: the input steps, every stage of every
chosen model, and the class probabilities. Also the /classify API's path, which runs
exactly the same preprocessing."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import batching
from .views import common, flow
from .preprocess import InputError, Preprocessed, preprocess, read_image
from .probe import probe
from .registry import Entry


def _probe(model, x):
    b = batching.shared()
    stages, p = b.probe(model, x) if b is not None else probe(model, x)
    if not np.isfinite(p).all():  # loading refuses weights that overflow; this is the last guard
        raise InputError("The network's outputs for this drawing are not finite numbers; try another checkpoint.")
    return stages, p

DIGITS = [str(d) for d in range(10)]


@dataclass
class Analysis:
    pre: Preprocessed
    probs: list[dict]  # one {"0": p, ..., "9": p} per model
    steps_html: str
    stages_html: str


def as_label(p: np.ndarray) -> dict:
    return {d: float(v) for d, v in zip(DIGITS, p)}


def analyse(img, entries: list[Entry], paper: str = "light") -> Analysis:
    """Raises InputError (with a message for the learner) for an empty or unusable drawing."""
    pre = preprocess(img, paper=paper)
    x = pre.tensor()
    probs, blocks = [], []
    for i, e in enumerate(entries):
        stages, p = _probe(e.ck.model, x)
        probs.append(as_label(p[0]))
        top = int(p[0].argmax())
        heading = f"{e.ck.name}: reads {top} ({p[0, top]:.0%})" if len(entries) > 1 else ""
        ops = e.cached("ops", lambda m=e.ck.model: flow.op_labels(m))
        blocks.append(flow.flow_html(stages, pre.image, ops, heading, i))
    return Analysis(pre, probs, common.steps_html(pre), "".join(blocks))


def classify_file(data: bytes | str, entry: Entry) -> dict:
    """An image file (bytes or a path) → {"0": p, ..., "9": p}."""
    pre = preprocess(read_image(data))
    _, p = _probe(entry.ck.model, pre.tensor())
    return as_label(p[0])


__all__ = ["Analysis", "InputError", "analyse", "classify_file", "as_label"]
