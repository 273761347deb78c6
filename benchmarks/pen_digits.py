"""Accuracy of the Draw tab's path on 999 real pen-drawn digits.

Each digit is rendered the way the Sketchpad delivers it (the app's canvas size and
default brush, dark ink on white, drawn at a size and place a person might choose), then
sent through the app's own preprocessing and model.

    python benchmarks/pen_digits.py [--data ../shared/data/pendigits-dev] [--checkpoints lenet5 tinycnn]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cnn_demo import checkpoints, strokes  # noqa: E402
from cnn_demo.preprocess import preprocess  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def load_digits(folder: Path):
    return json.loads((folder / "strokes.json").read_text())


def render_all(digits, layout: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    out = []
    for d in digits:
        st = strokes.random_placement(d["strokes"], rng) if layout == "varied" else strokes.place(d["strokes"], 0.7)
        out.append(strokes.render(st))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "pendigits-dev"))
    p.add_argument("--checkpoints", nargs="+", default=["lenet5", "tinycnn"])
    p.add_argument("--no-width", action="store_true", help="skip stroke-width normalisation (for comparison)")
    a = p.parse_args(argv)
    digits = load_digits(Path(a.data))
    labels = torch.tensor([d["label"] for d in digits])
    models = {n: checkpoints.load(ROOT / "checkpoints" / n if not Path(n).exists() else n).model for n in a.checkpoints}
    print(f"{len(digits)} pen-drawn digits, canvas {strokes.CANVAS}px, brush {strokes.BRUSH}px\n")
    print(f"| layout | {' | '.join(models)} | preprocess ms/digit |")
    print(f"|---|{'---|' * len(models)}---|")
    for layout in ("centred", "varied"):
        imgs = render_all(digits, layout)
        t0 = time.perf_counter()
        x = torch.stack([preprocess(im, normalize_width=not a.no_width).tensor()[0] for im in imgs])
        ms = (time.perf_counter() - t0) / len(imgs) * 1e3
        accs = []
        with torch.inference_mode():
            for m in models.values():
                accs.append((m(x).argmax(1) == labels).float().mean().item())
        print(f"| {layout} | {' | '.join(f'{a_:.2%}' for a_ in accs)} | {ms:.2f} |")


if __name__ == "__main__":
    main()
