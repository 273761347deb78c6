"""The explanation views' Adam: the same steps as torch.optim.Adam, without importing it."""
import subprocess
import sys
from pathlib import Path

import torch

from cnn_demo.adam import Adam


def test_same_steps_as_torch_adam():
    g = torch.Generator().manual_seed(0)
    target = torch.randn(3, 5, generator=g)
    a = torch.randn(3, 5, generator=g).requires_grad_(True)
    b = a.detach().clone().requires_grad_(True)
    mine, theirs = Adam(a, lr=0.05), torch.optim.Adam([b], lr=0.05, foreach=False)
    for _ in range(50):
        for p, opt in ((a, mine), (b, theirs)):
            opt.zero_grad()
            ((p - target) ** 3).abs().sum().backward()
            opt.step()
    assert torch.allclose(a, b, rtol=1e-6, atol=1e-7)
    assert not torch.allclose(a, target.new_zeros(3, 5))


def test_explaining_imports_no_compiler_stack():
    """A nudge and a feature visualisation leave torch._dynamo (≈150 MB) unimported."""
    code = ("import sys, numpy as np; from cnn_demo import explain, insights; from cnn_demo.models import build; "
            "m = build('lenet5').eval(); explain.nudge(m, np.zeros((28, 28), np.float32), 3, steps=3); "
            "insights.visualise(m, 'C1', 0, steps=3); print('torch._dynamo' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "False"
