"""Adam for the one tensor that the explanation views optimise (a nudge, a visualised input).

Not torch.optim: creating any torch.optim optimizer imports torch._dynamo and with it sympy,
about 150 MB resident and a second of import, in the serving process, for a 10-line update.
Same arithmetic as torch.optim.Adam's single-tensor path (no weight decay, no amsgrad).
"""
from __future__ import annotations

import math

import torch


class Adam:
    def __init__(self, param: torch.Tensor, lr: float, betas: tuple = (0.9, 0.999), eps: float = 1e-8):
        self.param, self.lr, self.betas, self.eps = param, lr, betas, eps
        self.m = torch.zeros_like(param)
        self.v = torch.zeros_like(param)
        self.t = 0

    def zero_grad(self) -> None:
        self.param.grad = None

    @torch.no_grad()
    def step(self) -> None:
        g = self.param.grad
        b1, b2 = self.betas
        self.t += 1
        self.m.lerp_(g, 1 - b1)
        self.v.mul_(b2).addcmul_(g, g, value=1 - b2)
        denom = (self.v.sqrt() / math.sqrt(1 - b2 ** self.t)).add_(self.eps)
        self.param.addcdiv_(self.m, denom, value=-self.lr / (1 - b1 ** self.t))
