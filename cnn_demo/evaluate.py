"""Test accuracy of a checkpoint on the 10,000 MNIST test digits.

    python -m cnn_demo.evaluate checkpoints/lenet5 --data-dir ../shared/data/mnist
"""
from __future__ import annotations

import argparse
import sys

import torch

from .data import DataError


@torch.inference_mode()
def predict(model, x: torch.Tensor, batch: int = 2500) -> torch.Tensor:
    """Arg-max class of every image in x (N, 1, 28, 28; float in [0, 1] or uint8), in large batches."""
    from .data import to_float
    return torch.cat([model(to_float(x[i:i + batch])).argmax(1) for i in range(0, len(x), batch)])


def accuracy(model, x: torch.Tensor, y: torch.Tensor) -> float:
    return (predict(model, x) == y).float().mean().item()


def main(argv=None) -> int:
    from . import checkpoints
    from .data import load_mnist
    p = argparse.ArgumentParser(prog="python -m cnn_demo.evaluate", description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", help="checkpoint folder or .safetensors file")
    p.add_argument("--data-dir", help="folder with the MNIST IDX files (default: $CNN_DEMO_DATA, else download)")
    a = p.parse_args(argv)
    try:
        ck = checkpoints.load(a.checkpoint)
        data = load_mnist(a.data_dir)
    except (checkpoints.CheckpointError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    acc = accuracy(ck.model, data.images("test"), data.labels("test"))
    print(f"checkpoint={ck.name} arch={ck.arch} test_images={len(data.test_y)}")
    print(f"accuracy={acc:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
