"""Run a model once and keep every stage's output; describe each layer's arithmetic.

The Draw tab shows exactly what `probe` returns, in network order.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .models import StagedNet


@dataclass
class Stage:
    name: str  # the layer's classic name: C1, C1_relu, S2, ...
    kind: str  # conv | relu | pool | flatten | linear
    output: np.ndarray  # one sample's output: (C, H, W) or (N,)

    @property
    def shape(self) -> tuple:
        return tuple(self.output.shape)

    @property
    def signed(self) -> bool:
        return bool((self.output < 0).any())


def kind_of(module: nn.Module) -> str:
    return {nn.Conv2d: "conv", nn.ReLU: "relu", nn.MaxPool2d: "pool", nn.AvgPool2d: "pool",
            nn.Flatten: "flatten", nn.Linear: "linear"}.get(type(module), type(module).__name__.lower())


@torch.inference_mode()
def probe_all(model: StagedNet, x: torch.Tensor) -> tuple[list[list[Stage]], np.ndarray]:
    """Every stage's output for every image of a batch `x` (N, 1, 28, 28), and the class
    probabilities (N, 10): one forward pass serves the whole batch."""
    kinds = {name: kind_of(m) for name, m in model.named_children()}
    outs, out = [], None
    for name, out in model.stages(x):
        if kinds[name] != "flatten":
            outs.append((name, kinds[name], out.numpy()))
    per_sample = [[Stage(n, k, o[i]) for n, k, o in outs] for i in range(len(x))]
    return per_sample, torch.softmax(out, 1).numpy()


def probe(model: StagedNet, x: torch.Tensor) -> tuple[list[Stage], np.ndarray]:
    """The stages of the first image of `x`, and the probabilities of all of them."""
    per_sample, probs = probe_all(model, x)
    return per_sample[0], probs


@torch.inference_mode()
def probabilities(model: StagedNet, x: torch.Tensor) -> np.ndarray:
    return torch.softmax(model(x), 1).numpy()


def filters(model: StagedNet) -> dict[str, np.ndarray]:
    """Weights of every conv layer, (out, in, kh, kw), by layer name."""
    return {n: m.weight.detach().cpu().numpy() for n, m in model.named_children() if isinstance(m, nn.Conv2d)}


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


def conv_layers(model: StagedNet) -> list[str]:
    return [n for n, m in model.named_children() if isinstance(m, nn.Conv2d)]


def receptive_fields(model: StagedNet) -> dict[str, tuple[float, float, int]]:
    """For each conv layer: (first, step, size) — cell i of its maps is centred on input pixel
    first + step·i and sees a size×size patch (receptive-field arithmetic through convs and pools)."""
    out, first, step, size = {}, 0.0, 1.0, 1
    for name, m in model.named_children():
        if kind_of(m) in ("conv", "pool"):
            k, s, p = _pair(m.kernel_size)[0], _pair(m.stride)[0], _pair(m.padding)[0]
            first += ((k - 1) / 2 - p) * step
            size += (k - 1) * step
            step *= s
            if isinstance(m, nn.Conv2d):
                out[name] = (first, step, int(size))
    return out


def layer_table(model: StagedNet, size: int = 28) -> list[dict]:
    """One row per stage: output shape, parameters, multiply-adds, and for conv/pool the
    output-size formula ⌊(n + 2p − k)/s⌋ + 1 (kernel or window size k) with the numbers filled in."""
    rows, shape = [], (1, size, size)
    rows.append({"stage": "input", "output": "1×28×28", "params": 0, "macs": 0, "formula": ""})
    for name, m in model.named_children():
        k = kind_of(m)
        params = sum(p.numel() for p in m.parameters())
        formula, macs = "", 0
        if k in ("conv", "pool"):
            f, s, p = _pair(m.kernel_size)[0], _pair(m.stride)[0], _pair(m.padding)[0]
            n = shape[1]
            o = (n + 2 * p - f) // s + 1
            formula = f"⌊({n} + 2·{p} − {f})/{s}⌋ + 1 = {o}"
            c = m.out_channels if k == "conv" else shape[0]
            if k == "conv":
                macs = c * o * o * m.in_channels * f * f
            shape = (c, o, o)
        elif k == "flatten":
            shape = (int(np.prod(shape)),)
        elif k == "linear":
            macs = m.in_features * m.out_features
            shape = (m.out_features,)
        rows.append({"stage": name, "output": "×".join(map(str, shape)), "params": params, "macs": macs,
                     "formula": formula})
    return rows
