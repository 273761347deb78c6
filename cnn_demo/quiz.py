"""Predict, then reveal: the questions a lesson asks before the learner looks, answered by the
live app — the playground's own convolution on its own image, the chosen network on the
drawing on the canvas — never by a number typed into the lesson. A lesson names a check and
its arguments (`ask:` in lessons/*.md); `grade` compares the learner's answer with the check's.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from . import playground as pg
from .explain import knocked_out
from .probe import probabilities


class QuizError(ValueError):
    """The question cannot be answered from what the app shows now; the message says what to do."""


@dataclass
class Context:
    """What the app shows now: the Draw tab's model and drawing, the playground's image and settings."""
    model: torch.nn.Module | None = None
    title: str = ""  # the model's name as the learner reads it
    x: torch.Tensor | None = None  # the drawing as the network's input (1, 1, 28, 28); None: a blank canvas
    image: np.ndarray | None = None  # the playground's input
    conv: dict = field(default_factory=dict)  # the playground's settings, as pg.chain takes them
    seed: int = 0  # the playground's random colour layer


SETTINGS = ("padding", "stride", "dilation", "padding_mode", "activation", "slope", "pooling", "pool_kernel",
            "pool_stride")


def _chain(ctx: Context, args: dict, kernels=None):
    if ctx.image is None or not ctx.conv.get("kernels"):
        raise QuizError("The playground has no input image: choose one there first.")
    conv = {k: ctx.conv[k] for k in SETTINGS if k in ctx.conv}
    conv.update({k: v for k, v in args.items() if k in SETTINGS})
    return pg.chain(ctx.image, kernels or ctx.conv["kernels"], **conv), conv


def output_size(ctx: Context, args: dict) -> tuple[str, str]:
    """The side of the playground's output (after pooling, if any), with `args` changing settings."""
    res, conv = _chain(ctx, args)
    h, w = res.final.shape[-2:]
    why = f"the app's convolution gives {h}×{w}: height {res.formulas['height']}"
    if res.pooled is not None:
        why += f", then pooling: {res.formulas['pool height']}"
    return f"{h}×{w}", why + "."


def maps(ctx: Context, args: dict) -> tuple[str, str]:
    """How many output maps the playground's kernels give, with `args["add"]` presets added."""
    added = [k for name in args.get("add", []) for k in pg.PRESETS.get(name, [])]
    res, _ = _chain(ctx, {}, list(ctx.conv.get("kernels", [])) + added)
    n = res.final.shape[0]
    return str(n), f"one output map per kernel: {n} kernels give {n} maps."


def colour_filter(ctx: Context, args: dict) -> tuple[str, str]:
    """How many weights one filter of the playground's random Conv2d(3 → 8) holds."""
    bank = pg.random_bank(int(ctx.seed))
    o, i, kh, kw = bank.shape
    n = i * kh * kw
    return str(n), (f"each of its {o} filters has one {kh}×{kw} slice per colour channel: "
                    f"{i} × {kh} × {kw} = {n} weights, all summed into one output value.")


def filter_numbers(ctx: Context, args: dict) -> tuple[str, str]:
    """How many weights one filter of a layer of the chosen network holds (its bias apart)."""
    if ctx.model is None:
        raise QuizError("Choose a model on the Draw tab first.")
    stage = args.get("stage", "")
    try:
        w = ctx.model.stage(stage).weight
    except (KeyError, AttributeError):
        raise QuizError(f"{ctx.title or 'This model'} has no layer {str(stage)[:20]} with weights.") from None
    shape = tuple(w.shape)
    n = int(np.prod(shape[1:]))
    return str(n), (f"{stage}'s weights in {ctx.title} are {'×'.join(map(str, shape))}: each of its {shape[0]} "
                    f"filters holds {' × '.join(map(str, shape[1:]))} = {n} weights (and one bias).")


def _reads(model, x) -> tuple[int, float]:
    p = probabilities(model, x)[0]
    return int(p.argmax()), float(p.max())


def knockout_same(ctx: Context, args: dict) -> tuple[str, str]:
    """Whether the network still reads the same digit with some filters of a layer zeroed: "yes" or "no"."""
    if ctx.model is None or ctx.x is None:
        raise QuizError("Draw a digit on the Draw tab first: the question is about the network reading it.")
    layer, filters = args.get("layer", ""), [int(f) for f in args.get("filters", [])]
    try:
        ko = knocked_out(ctx.model, layer, filters)
    except (KeyError, ValueError, IndexError):
        raise QuizError(f"{ctx.title} has no filters {filters} in a layer {str(layer)[:20]}.") from None
    (d0, p0), (d1, p1) = _reads(ctx.model, ctx.x), _reads(ko, ctx.x)
    said = ", ".join(map(str, filters))
    return ("yes" if d0 == d1 else "no"), (f"intact, {ctx.title} reads {d0} ({p0:.0%}); with {layer}'s filters "
                                           f"{said} zeroed it reads {d1} ({p1:.0%}).")


def prediction(ctx: Context, args: dict) -> tuple[str, str]:
    """The digit the chosen network reads on the drawing."""
    if ctx.model is None or ctx.x is None:
        raise QuizError("Draw a digit on the Draw tab first.")
    d, p = _reads(ctx.model, ctx.x)
    return str(d), f"{ctx.title} reads {d} ({p:.0%})."


CHECKS = {"output_size": output_size, "maps": maps, "colour_filter": colour_filter,
          "filter_numbers": filter_numbers, "knockout_same": knockout_same, "prediction": prediction}


def answer(ask: dict, ctx: Context) -> tuple[str, str]:
    """(the right answer, why), from the live app."""
    check = CHECKS.get(ask.get("check"))
    if check is None:
        raise QuizError(f"This lesson asks for a check the app does not have ({str(ask.get('check'))[:30]}).")
    try:
        return check(ctx, ask.get("args") or {})
    except pg.PlaygroundError as e:
        raise QuizError(str(e)) from None


def grade(ask: dict, given, ctx: Context) -> tuple[bool | None, str]:
    """(right?, the sentence to show): None when nothing was chosen or the app cannot answer now."""
    if not isinstance(given, str) or not given:
        return None, "Choose an answer first, then check it."
    try:
        right, why = answer(ask, ctx)
    except QuizError as e:
        return None, str(e)
    if given == right:
        return True, f"Right: {right}. The app shows it: {why}"
    return False, f"Not quite: it is {right}, not {given}. The app shows it: {why}"
