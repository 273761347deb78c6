"""Server time of each "why this digit?" view for one drawing, per model, on this CPU.

    python benchmarks/explain_speed.py [--data-dir ../shared/data/mnist] [--repeats 30]
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]
from timing import MODELS, bundled_model, start_table, timed, view_args  # noqa: E402
from cnn_demo import explain  # noqa: E402
from cnn_demo.data import load_mnist  # noqa: E402
from cnn_demo.evaluate import accuracy  # noqa: E402


def main(argv=None):
    a = view_args(__doc__, 30, argv)
    data = load_mnist(a.data_dir)
    tx, ty = data.raw("test"), data.labels("test")
    img = data.images("test")[0, 0].numpy()
    start_table("view", "One drawing (an MNIST test 7), ")
    for name in MODELS:
        m = bundled_model(name)
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
