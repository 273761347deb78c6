"""How one value of one stage was computed: the numbers behind a single unit, taken from the
model's own weights and its own activations on the learner's drawing, so that what the page
shows adds up to what the network computed.

- a conv unit: the window of every input channel under the kernel, the products, the sum per
  channel, the bias and the total (equal to the map's value), then what ReLU makes of it;
- a pooling unit: the window and which value won (or their average);
- a fully connected unit (and C5, whose 5×5 kernels cover the whole input): the largest
  contributions weight × input;
- the output: the softmax worked through, logits → exponentials → sum → probabilities.

Every unit also says which pixels of the 28×28 input it can see (its receptive field).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .models import StagedNet


class UnitError(ValueError):
    """A unit that does not exist; the message says which ones do."""


@dataclass
class Unit:
    stage: str
    kind: str  # conv | pool | linear
    channel: int
    position: tuple = ()  # (row, col) in the stage's map; () for a linear unit
    value: float = 0.0  # the model's own output there
    total: float = 0.0  # what the arithmetic below adds up to (equal to value)
    after_relu: float | None = None  # the next stage's value, when a ReLU follows
    receptive: tuple = ()  # (top, left, bottom, right) of the input pixels it sees, bottom/right exclusive
    window: np.ndarray | None = None  # conv: (C_in, k, k) inputs under the kernel; pool: (k, k)
    kernel: np.ndarray | None = None  # conv: (C_in, k, k) weights
    products: np.ndarray | None = None  # conv: window × kernel
    sums: np.ndarray | None = None  # conv: one sum per input channel
    bias: float = 0.0
    winner: tuple = ()  # max pooling: (row, col) in the window of the largest value
    top: list = field(default_factory=list)  # linear: [(input index, input, weight, product)], largest |product| first
    normalised: tuple = ()  # (mean, std) when the unit reads the network's input: (pixel − mean) / std
    over_edge: bool = False  # conv: the window reaches past the input's edge, into the padding (zeros)


def _spatial(module: nn.Module):
    """(kernel, stride, padding) of a module that moves over the map, else None."""
    if isinstance(module, nn.Conv2d):
        return module.kernel_size[0], module.stride[0], module.padding[0]
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        k, s, p = module.kernel_size, module.stride, module.padding
        as_int = (lambda v: v if isinstance(v, int) else v[0])
        return as_int(k), as_int(s if s is not None else k), as_int(p)
    return None


def receptive_field(model: StagedNet, stage: str, row: int, col: int, size: int = 28) -> tuple:
    """The input pixels a unit of `stage` at (row, col) is computed from: its window mapped back
    through every conv and pool before it, then cut to the image (padding is not an image)."""
    names = model.names
    idx = names.index(stage)
    (r0, r1), (c0, c1) = (row, row), (col, col)
    for name in reversed(names[:idx + 1]):
        sp = _spatial(model.stage(name))
        if sp is None:
            continue
        k, s, p = sp
        r0, r1 = r0 * s - p, r1 * s - p + k - 1
        c0, c1 = c0 * s - p, c1 * s - p + k - 1
    return max(r0, 0), max(c0, 0), min(r1 + 1, size), min(c1 + 1, size)


@torch.inference_mode()
def activations(model: StagedNet, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every stage's output for one image (1, 1, 28, 28), and "input": what the first stage
    reads (the image after the model's normalisation)."""
    out = {"input": (x - model.mean) / model.std}
    for name, y in model.stages(x):
        out[name] = y
    return out


def explainable(model: StagedNet) -> list[str]:
    """The stages whose units have arithmetic to show: convolutions, poolings, linear layers."""
    return [n for n in model.names if isinstance(model.stage(n), (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.Linear))]


def _input_of(model: StagedNet, acts: dict, stage: str) -> torch.Tensor:
    names = model.names
    i = names.index(stage)
    return acts["input"] if i == 0 else acts[names[i - 1]]


def _relu_after(model: StagedNet, acts: dict, stage: str):
    names = model.names
    i = names.index(stage)
    if i + 1 < len(names) and isinstance(model.stage(names[i + 1]), nn.ReLU):
        return acts[names[i + 1]]
    return None


@torch.no_grad()
def explain(model: StagedNet, x: torch.Tensor, stage: str, channel: int, position=(0, 0),
            acts: dict | None = None, top: int = 10) -> Unit:
    """The arithmetic of one unit of `stage` on image `x` (1, 1, 28, 28). `acts` (from
    `activations`) saves the forward pass when several units of one drawing are asked for."""
    module = model.stage(stage)  # unknown names are refused with the known ones
    if not isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.Linear)):
        raise UnitError(f"{stage} computes nothing of its own to work through; choose one of "
                        f"{', '.join(explainable(model))}.")
    acts = acts if acts is not None else activations(model, x)
    inp, out = _input_of(model, acts, stage)[0], acts[stage][0]
    n = out.shape[0]
    if not isinstance(channel, int) or not 0 <= channel < n:
        raise UnitError(f"{stage} has {n} {'maps' if out.ndim == 3 else 'units'} (0 to {n - 1}), not {channel!r}.")
    relu = _relu_after(model, acts, stage)
    reads_input = model.names.index(stage) == 0
    if out.ndim == 1:
        unit = _linear(model, stage, module, inp.flatten(), out, channel, relu, top)
        unit.normalised = (model.mean, model.std) if reads_input else ()
        return unit
    h, w = out.shape[1:]
    try:
        r, c = (int(v) for v in position)
    except (TypeError, ValueError):
        raise UnitError(f"A position is (row, column), not {position!r}.") from None
    if not (0 <= r < h and 0 <= c < w):
        raise UnitError(f"{stage}'s maps are {h}×{w}: rows and columns 0 to {h - 1} and {w - 1}, not ({r}, {c}).")
    unit = Unit(stage, "", channel, (r, c), float(out[channel, r, c]), receptive=receptive_field(model, stage, r, c),
                normalised=(model.mean, model.std) if reads_input else ())
    if relu is not None:
        unit.after_relu = float(relu[0][channel, r, c])
    k, s, p = _spatial(module)
    padded = torch.nn.functional.pad(inp, (p, p, p, p))
    if isinstance(module, nn.Conv2d):
        if module.groups != 1 or module.dilation != (1, 1):
            raise UnitError(f"{stage} is a grouped or dilated convolution; only plain ones are worked through.")
        win = padded[:, r * s:r * s + k, c * s:c * s + k]
        ih, iw = inp.shape[1:]
        unit.over_edge = min(r, c) * s < p or r * s + k > ih + p or c * s + k > iw + p
        kern = module.weight[channel]
        prod = win * kern
        bias = float(module.bias[channel]) if module.bias is not None else 0.0
        sums = prod.sum((1, 2))
        unit.kind, unit.window, unit.kernel = "conv", win.numpy().copy(), kern.detach().numpy().copy()
        unit.products, unit.sums, unit.bias = prod.detach().numpy(), sums.detach().numpy(), bias
        unit.total = float(sums.double().sum()) + bias
        flat = prod.detach().flatten()
        order = flat.abs().argsort(descending=True)[:top]
        unit.top = [(int(i), float(win.flatten()[i]), float(kern.flatten()[i]), float(flat[i])) for i in order]
        return unit
    win = padded[channel, r * s:r * s + k, c * s:c * s + k]
    unit.kind, unit.window = "pool", win.numpy().copy()
    if isinstance(module, nn.MaxPool2d):
        i = int(win.flatten().argmax())
        unit.winner, unit.total = (i // k, i % k), float(win.max())
    else:
        unit.total = float(win.mean())
    return unit


def _linear(model, stage, module, inp, out, channel, relu, top) -> Unit:
    if not isinstance(module, nn.Linear):
        raise UnitError(f"{stage} gives one number per unit but is not a fully connected layer.")
    w = module.weight[channel].detach()
    prod = inp * w
    bias = float(module.bias[channel]) if module.bias is not None else 0.0
    order = prod.abs().argsort(descending=True)[:top]
    unit = Unit(stage, "linear", channel, (), float(out[channel]), float(prod.double().sum()) + bias, bias=bias,
                top=[(int(i), float(inp[i]), float(w[i]), float(prod[i])) for i in order])
    if relu is not None:
        unit.after_relu = float(relu[0][channel])
    unit.window, unit.kernel, unit.products = inp.numpy().copy(), w.numpy().copy(), prod.numpy()
    return unit


def softmax_steps(logits) -> dict[str, np.ndarray]:
    """The softmax worked through, as a learner would by hand: the largest logit subtracted
    first (the probabilities are the same; nothing overflows), exponentials, their sum, each
    exponential divided by it."""
    z = np.asarray(logits, dtype=np.float64).reshape(-1)
    shifted = z - z.max()
    e = np.exp(shifted)
    return {"logits": z, "shifted": shifted, "exp": e, "sum": np.array(e.sum()), "probabilities": e / e.sum()}
