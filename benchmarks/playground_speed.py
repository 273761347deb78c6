"""Server time of one playground update on a 512×512 RGB photo, per kind of change.

    python benchmarks/playground_speed.py [--repeats 20]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from cnn_demo import playground as pg  # noqa: E402
from cnn_demo.views import playground as pv  # noqa: E402
from cnn_demo.sample_images import to_array  # noqa: E402

CASES = {
    "Sobel x (3×3), same": dict(names=["Sobel x"]),
    "Sobel x + ReLU + max-pool 2": dict(names=["Sobel x"], activation="relu", pooling="max"),
    "gradient magnitude (2 kernels + √)": dict(names=[pg.MAGNITUDE], magnitude=True),
    "4-filter bank + LeakyReLU + avg-pool": dict(names=["Left dark / right bright bank (4 filters)"],
                                                 activation="leaky_relu", pooling="avg"),
    "custom 11×11, stride 2, dilation 2, reflect": dict(kernels=[np.random.default_rng(0).normal(size=(11, 11))],
                                                        stride=2, dilation=2, padding_mode="reflect"),
    "RGB colour views (channels, bank, random Conv2d 3→8)": dict(names=["Sobel x"], colour=True),
}


def settings(case: dict) -> pv.Settings:
    ks, names = [], []
    for n in case.get("names", []):
        ks += pg.PRESETS[n]
        names += [n] * len(pg.PRESETS[n])
    for k in case.get("kernels", []):
        ks.append(np.asarray(k, np.float32))
        names.append("custom")
    return pv.Settings(ks, names, "same", case.get("stride", 1), case.get("dilation", 1),
                       case.get("padding_mode", "zeros"), case.get("activation", "none"), 0.1,
                       case.get("pooling", "none"), 2, 2, magnitude=case.get("magnitude", False))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=20)
    a = p.parse_args(argv)
    img, _ = to_array(Image.open(ROOT / "examples" / "images" / "coffee.jpg").convert("RGB").resize((512, 512)))
    assert img.shape == (3, 512, 512)
    print(f"One playground update on a 512×512 RGB photo (chain + every view as HTML), {a.repeats} repeats\n")
    print("| change | median ms | max ms |")
    print("|---|---|---|")
    for label, case in CASES.items():
        s = settings(case)
        t = []
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            if case.get("colour"):
                pv.colour_html(img, 0, s)
            else:
                pv.chain_html(img, s)
                pv.kernel_html(s.kernels, s.names)
            t.append((time.perf_counter() - t0) * 1e3)
        print(f"| {label} | {statistics.median(t):.1f} | {max(t):.1f} |")


if __name__ == "__main__":
    main()
