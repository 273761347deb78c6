"""Would a larger TinyCNN read unseen writers better? TinyCNN's two 3×3 layers at other
widths, trained with the bundled recipe (`--augment --drawn 0.5`, 20 epochs, fp32)
by the app's own loop, then scored writer by writer on the pen-drawn development digits.
The experiment that made the bundled TinyCNN 32/64 wide (now `python -m cnn_demo.train
--widths 32 64`, `writer_recipes.py`'s w64 recipes, which gave the same figures as `--seed` here).

    OMP_NUM_THREADS=1 python benchmarks/wider_tinycnn.py --data-dir ../shared/data/mnist --widths 32 64 [--label-smoothing 0.1] [--seed 1]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
import pen_digits  # noqa: E402
from cnn_demo.data import load_mnist  # noqa: E402
from cnn_demo.models import TinyCNN  # noqa: E402
from cnn_demo.train import TrainConfig, train  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", required=True)
    p.add_argument("--widths", type=int, nargs=2, default=[32, 64])
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    cfg = TrainConfig(arch="tinycnn", epochs=a.epochs, augment=True, drawn=0.5, precision="fp32",
                      label_smoothing=a.label_smoothing, seed=a.seed)
    torch.manual_seed(a.seed)  # the start too: unseeded, two runs differed by 1.2 points
    model = TinyCNN(widths=tuple(a.widths))
    t0 = time.perf_counter()
    r = train(cfg, load_mnist(a.data_dir), device="cpu", model=model)
    minutes = (time.perf_counter() - t0) / 60
    print(pen_digits.report(r.model, {"widths": f"{a.widths[0]}/{a.widths[1]}", "label smoothing": f"{a.label_smoothing:g}",
                                      "seed": str(a.seed)}, r.test_accuracy, minutes))


if __name__ == "__main__":
    main()
