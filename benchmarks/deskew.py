"""Would slant normalisation help the networks read unseen writers? Every input — each
augmented training batch, MNIST's test digits and the pen-drawn development digits — is
sheared upright by its second moments (the classic "deskewing" of MNIST: x += α (y − ȳ),
α = −cov(x, y) / var(y)) before the network sees it, then trained with the bundled recipe
by the app's own loop and scored writer by writer. Issue 15 names the lever: slant
normalisation applied identically in training and preprocessing.

    OMP_NUM_THREADS=1 python benchmarks/deskew.py --data-dir ../shared/data/mnist --arch lenet5 [--seed 1]
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
import pen_digits  # noqa: E402
from cnn_demo.data import load_mnist  # noqa: E402
from cnn_demo.models import LeNet5, TinyCNN  # noqa: E402

MAX_SHEAR = 1.0  # a digit sheared further than 45° is not slanted writing


def deskew(x: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) ink in [0, 1] → the same, each image sheared so that its ink's x no
    longer depends on y (its centre of mass stays where it was)."""
    n, _, h, w = x.shape
    ys = torch.arange(h, dtype=x.dtype, device=x.device).view(1, h, 1)
    xs = torch.arange(w, dtype=x.dtype, device=x.device).view(1, 1, w)
    m = x[:, 0]
    mass = m.sum((1, 2)).clamp_min(1e-6)
    cy = (m * ys).sum((1, 2)) / mass
    cx = (m * xs).sum((1, 2)) / mass
    dy, dx = ys - cy.view(n, 1, 1), xs - cx.view(n, 1, 1)
    var_y = (m * dy * dy).sum((1, 2)).clamp_min(1e-6)
    alpha = ((m * dx * dy).sum((1, 2)) / var_y).clamp(-MAX_SHEAR, MAX_SHEAR)
    cyn = (2 * cy + 1) / h - 1  # the centre's row in grid_sample's [-1, 1] coordinates
    one, zero = torch.ones_like(alpha), torch.zeros_like(alpha)
    theta = torch.stack([torch.stack([one, alpha * h / w, -alpha * cyn * h / w], 1),
                         torch.stack([zero, one, zero], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


class Deskewed:
    """Mixed into a network: its forward deskews the raw input first."""

    def forward(self, x):
        return super().forward(deskew(x))


class DeskewedLeNet5(Deskewed, LeNet5):
    pass


class DeskewedTinyCNN(Deskewed, TinyCNN):
    pass


def main(argv=None):
    p = pen_digits.experiment_args(__doc__)
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--widths", type=int, nargs=2, default=[32, 64])
    a = p.parse_args(argv)
    make = DeskewedLeNet5 if a.arch == "lenet5" else lambda: DeskewedTinyCNN(widths=tuple(a.widths))
    print(pen_digits.recipe_row(a.arch, a, make, load_mnist(a.data_dir), {"arch": f"{a.arch} deskewed", "seed": str(a.seed)},
                                label_smoothing=a.label_smoothing))

if __name__ == "__main__":
    main()
