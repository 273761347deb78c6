"""Server time of each "why this digit?" view for one drawing, per model, on this CPU.

    python benchmarks/explain_speed.py [--data-dir ../shared/data/mnist] [--repeats 30]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from timing import timed  # noqa: E402
from cnn_demo import checkpoints, explain  # noqa: E402
from cnn_demo.data import load_mnist  # noqa: E402
from cnn_demo.evaluate import accuracy  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    p.add_argument("--repeats", type=int, default=30)
    a = p.parse_args(argv)
    data = load_mnist(a.data_dir)
    tx, ty = data.raw("test"), data.labels("test")
    img = data.images("test")[0, 0].numpy()
    print(f"One drawing (an MNIST test 7), torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    print("| view | model | median ms | max ms | goal ms |")
    print("|---|---|---|---|---|")
    for name in ("lenet5", "tinycnn"):
        m = checkpoints.load(ROOT / "checkpoints" / name).model
        layer = explain.cam_layer(m)
        first = explain.conv_layers(m)[0]
        rows = [
            ("gradient saliency", lambda: explain.saliency(m, img, 7), 20),
            (f"Grad-CAM on {layer}", lambda: explain.gradcam(m, img, 7, layer), 20),
            ("occlusion 6×6, stride 2", lambda: explain.occlusion(m, img, 7), 100),
            ("robustness sweep, 20 rotations", lambda: explain.sweep(m, img, "rotate (degrees)"), 100),
            (f"knock out 2 {first} filters + test accuracy (10,000)",
             lambda: accuracy(explain.knocked_out(m, first, [0, 1]), tx, ty), 1000),
        ]
        for label, fn, goal in rows:
            med, mx = timed(fn, a.repeats if goal < 1000 else 5)
            print(f"| {label} | {name} | {med:.1f} | {mx:.1f} | ≤ {goal} |")


if __name__ == "__main__":
    main()
