"""Accuracy of the Draw tab's path on real pen-drawn digits, writer by writer.

Each digit is rendered the way the Sketchpad delivers it (the app's canvas size and
default brush, dark ink on white, drawn at a size and place a person might choose), then
sent through the app's own preprocessing and model. Accuracy is reported per writer, with
the spread over writers: a recipe that only fits some writers shows up there.

With `--candidates`, several checkpoints of one architecture compete (say, one per training
recipe) and the figure that counts is the **held-out-writer** one: for each writer, the
candidate that reads the *other* writers best is chosen, and its accuracy on this writer is
what is reported (leave one writer out). Choosing by all writers and reporting on the same
writers would flatter the winner.

With `--by-recipe`, the seeds of one recipe (`NAME`, `NAME-seed1`, …) compete as one
candidate, each digit counted by the share of its runs that read it: a choice between
recipes, not between lucky starts.

With `--ensembles`, every pair of the `--checkpoints` is also scored as one reader (the
average of their two softmaxes): whether two networks are worth running where one is shown.

    python benchmarks/pen_digits.py [--checkpoints lenet5 tinycnn] [--candidates runs/recipes/* [--by-recipe]] [--ensembles]
"""
from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from cnn_demo import checkpoints, strokes  # noqa: E402
from cnn_demo.preprocess import preprocess  # noqa: E402

DEV = ROOT.parent / "shared" / "data" / "pendigits-dev"
MNIST_BAR = {"lenet5": 0.993, "tinycnn": 0.992}  # issue 15: what MNIST test accuracy must stay at


def load_digits(folder: Path):
    return json.loads((Path(folder) / "strokes.json").read_text())


PEN = {"canvas": strokes.CANVAS, "brush": strokes.BRUSH}  # --canvas, --brush: another sketchpad


def render_all(digits, layout: str = "varied", seed: int = 0):
    rng = np.random.default_rng(seed)
    out = []
    for d in digits:
        st = (strokes.random_placement(d["strokes"], rng, PEN["canvas"]) if layout == "varied"
              else strokes.place(d["strokes"], 0.7, canvas=PEN["canvas"]))
        out.append(strokes.render(st, **PEN))
    return out


def inputs(digits, layout: str = "varied", seed: int = 0, normalize_width: bool = True):
    """The networks' inputs (N, 1, 28, 28) of the rendered digits, and ms of preprocessing each."""
    imgs = render_all(digits, layout, seed)
    t0 = time.perf_counter()
    x = torch.stack([preprocess(im, normalize_width=normalize_width, paper="light").tensor()[0] for im in imgs])
    return x, (time.perf_counter() - t0) / len(imgs) * 1e3


TTA = False  # --tta: average the network over small turns, scalings and shifts of each input


def variants(x: torch.Tensor) -> torch.Tensor:
    """Each input turned ±10°, scaled 0.9/1.1 and shifted a pixel four ways (9 in all)."""
    import math

    import torch.nn.functional as F
    thetas = [(0, 1, 0, 0)] + [(a, 1, 0, 0) for a in (-10, 10)] + [(0, s, 0, 0) for s in (0.9, 1.1)] + \
             [(0, 1, dx, dy) for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1))]
    out = []
    for a, s, dx, dy in thetas:
        r = math.radians(a)
        t = torch.tensor([[math.cos(r) / s, -math.sin(r) / s, -dx * 2 / 28],
                          [math.sin(r) / s, math.cos(r) / s, -dy * 2 / 28]]).expand(len(x), 2, 3)
        out.append(F.grid_sample(x, F.affine_grid(t, list(x.shape), align_corners=False), align_corners=False))
    return torch.stack(out)


@torch.inference_mode()
def right(model, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """Which digits the model reads right (bool per digit)."""
    if TTA:
        v = variants(x)
        p = torch.softmax(model(v.flatten(0, 1)), 1).view(*v.shape[:2], -1).mean(0)
        return (p.argmax(1) == y).numpy()
    return (model(x).argmax(1) == y).numpy()


class Averaged(torch.nn.Module):
    """Two networks as one reader: the log of their averaged probabilities."""

    def __init__(self, a, b):
        super().__init__()
        self.a, self.b = a, b

    def forward(self, x):
        return ((torch.softmax(self.a(x), 1) + torch.softmax(self.b(x), 1)) / 2).log()


def per_writer(ok: np.ndarray, writers: np.ndarray) -> dict[int, float]:
    return {int(w): float(ok[writers == w].mean()) for w in np.unique(writers)}


def held_out(oks: dict[str, np.ndarray], writers: np.ndarray) -> dict[int, tuple[str, float]]:
    """Leave one writer out: for each writer, the candidate best on the others, and its
    accuracy on this one."""
    out = {}
    for w in np.unique(writers):
        others = writers != w
        best = max(oks, key=lambda c: (oks[c][others].mean(), c))
        out[int(w)] = (best, float(oks[best][~others].mean()))
    return out


def spread(values) -> str:
    v = np.asarray(list(values))
    return f"{v.mean():.2%} ± {v.std(ddof=1) if len(v) > 1 else 0:.2%} (min {v.min():.2%})"


def report(model, lead: dict[str, str], mnist_accuracy: float, minutes: float, data: Path = DEV) -> str:
    """One trained network on the development digits, writer by writer (varied layout) and
    centred, as a markdown table of one row after the `lead` columns: what the experiment
    scripts (`wider_tinycnn.py`, `deskew.py`, `redrawn.py`) print."""
    digits = load_digits(data)
    y = torch.tensor([d["label"] for d in digits])
    writers = np.array([d["writer"] for d in digits])
    ok, centred = (right(model, inputs(digits, layout)[0], y) for layout in ("varied", "centred"))
    pw = per_writer(ok, writers)
    ws = sorted(pw)
    return "\n".join([
        f"| {' | '.join(lead)} | MNIST test | {' | '.join(f'writer {w}' for w in ws)} | all {len(digits)} | centred | minutes |",
        f"|{'---|' * (len(lead) + len(ws) + 4)}",
        f"| {' | '.join(lead.values())} | {mnist_accuracy:.2%} | {' | '.join(f'{pw[w]:.1%}' for w in ws)} | "
        f"{ok.mean():.2%} | {centred.mean():.2%} | {minutes:.1f} |"])


def experiment_args(doc: str, arch: bool = True) -> argparse.ArgumentParser:
    """The flags every training experiment here shares (MNIST's folder, epochs, seed, and
    the network unless the script fixes it); each script adds its own lever."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--data-dir", required=True)
    if arch:
        p.add_argument("--arch", choices=["lenet5", "tinycnn"], default="lenet5")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    return p


def recipe_row(arch: str, a: argparse.Namespace, make_model, data, lead: dict[str, str], **config) -> str:
    """One experiment run: the bundled recipe (`--augment --drawn 0.5`, fp32) by the app's own
    loop on the CPU from a seeded start (unseeded, two runs differed by 1.2 points), then
    `report`'s row. `config` holds the lever's own training settings."""
    from cnn_demo.train import TrainConfig, train
    cfg = TrainConfig(arch=arch, epochs=a.epochs, augment=True, drawn=0.5, precision="fp32", seed=a.seed, **config)
    torch.manual_seed(a.seed)
    model = make_model()
    t0 = time.perf_counter()
    r = train(cfg, data, device="cpu", model=model)
    return report(r.model, lead, r.test_accuracy, (time.perf_counter() - t0) / 60)


def load(name: str):
    p = Path(name)
    return checkpoints.load(p if p.exists() else ROOT / "checkpoints" / name)


def mnist(ck) -> str:
    acc = ck.meta.get("test_accuracy")
    return f"{acc:.2%}" if isinstance(acc, float) else "–"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(DEV))
    p.add_argument("--checkpoints", nargs="+", default=["lenet5", "tinycnn"])
    p.add_argument("--candidates", nargs="*", default=[],
                   help="checkpoints competing per architecture; adds the held-out-writer figure")
    p.add_argument("--layouts", type=int, default=1, help="render each digit this many ways (seeds)")
    p.add_argument("--tta", action="store_true", help="average each network over 9 small variants of the input")
    p.add_argument("--ensembles", action="store_true", help="also score each pair of --checkpoints averaged")
    p.add_argument("--by-recipe", action="store_true",
                   help="with --candidates: a recipe's runs (NAME, NAME-seed1, ...) compete as one, their accuracy averaged")
    p.add_argument("--canvas", type=int, default=strokes.CANVAS, help="render on a canvas this many pixels wide")
    p.add_argument("--brush", type=int, default=strokes.BRUSH, help="with a brush this many pixels across")
    p.add_argument("--seed", type=int, default=0, help="the first random layout")
    p.add_argument("--no-width", action="store_true", help="skip stroke-width normalisation (for comparison)")
    a = p.parse_args(argv)
    global TTA
    TTA = a.tta
    PEN.update(canvas=a.canvas, brush=a.brush)
    digits = load_digits(Path(a.data))
    y = torch.tensor([d["label"] for d in digits]).repeat(a.layouts)
    writers = np.tile([d["writer"] for d in digits], a.layouts)
    parts = [inputs(digits, "varied", seed, not a.no_width) for seed in range(a.seed, a.seed + a.layouts)]
    x, ms = torch.cat([p_[0] for p_ in parts]), parts[0][1]
    centred, _ = inputs(digits, "centred", 0, not a.no_width)
    ws = sorted(set(writers.tolist()))
    print(f"{len(digits)} pen-drawn digits by {len(ws)} writers, canvas {a.canvas}px, "
          f"brush {a.brush}px, {a.layouts} random layout(s) each; preprocessing {ms:.2f} ms/digit\n")
    print(f"| checkpoint | MNIST test | {' | '.join(f'writer {w}' for w in ws)} | all | over writers: mean ± sd (min) | centred |")
    print(f"|---|---|{'---|' * len(ws)}---|---|---|")
    models = {}
    for name in a.checkpoints:
        ck = load(name)
        models[Path(name).name] = ck.model
        ok = right(ck.model, x, y)
        pw = per_writer(ok, writers)
        c = right(ck.model, centred, y[:len(digits)]).mean()
        print(f"| {Path(name).name} | {mnist(ck)} | {' | '.join(f'{pw[w]:.1%}' for w in ws)} | {ok.mean():.2%} | "
              f"{spread(pw.values())} | {c:.2%} |")
    if a.ensembles:
        print("\nPairs, each read as the average of the two networks' softmaxes:\n")
        print(f"| pair | {' | '.join(f'writer {w}' for w in ws)} | all | over writers: mean ± sd (min) |")
        print(f"|---|{'---|' * len(ws)}---|---|")
        for (n1, m1), (n2, m2) in itertools.combinations(models.items(), 2):
            ok = right(Averaged(m1, m2), x, y)
            pw = per_writer(ok, writers)
            print(f"| {n1} + {n2} | {' | '.join(f'{pw[w]:.1%}' for w in ws)} | {ok.mean():.2%} | {spread(pw.values())} |")
    if a.candidates:
        # a candidate is a checkpoint, or with --by-recipe a recipe's runs together: it competes
        # when its MNIST test accuracy (a recipe's: the mean over its runs) is at the bar, so a
        # recipe is never flattered by leaving out its one weak run
        runs: dict[tuple[str, str], list] = {}
        for c in a.candidates:
            ck = checkpoints.load(c)
            acc = ck.meta.get("test_accuracy")
            name = re.sub(r"-seed\d+$", "", Path(c).name) if a.by_recipe else Path(c).name
            runs.setdefault((ck.arch, name), []).append((acc, right(ck.model, x, y)))
        by_arch: dict[str, dict[str, np.ndarray]] = {}
        for (arch, name), rs in runs.items():
            known = [r[0] for r in rs if isinstance(r[0], float)]  # a checkpoint may not say
            acc = float(np.mean(known)) if known else None
            if acc is not None and acc < MNIST_BAR.get(arch, 0):
                print(f"({name} does not compete: {acc:.2%} on MNIST's test set, under {MNIST_BAR[arch]:.1%})")
                continue
            by_arch.setdefault(arch, {})[name] = np.mean([r[1] for r in rs], 0)
        print("\nHeld-out writers (each writer's figure comes from the candidate best on the other writers):\n")
        print(f"| architecture | candidates | {' | '.join(f'writer {w}' for w in ws)} | held-out mean ± sd (min) |")
        print(f"|---|---|{'---|' * len(ws)}---|")
        for arch, oks in by_arch.items():
            h = held_out(oks, writers)
            cells = " | ".join(f"{h[w][1]:.1%} ({h[w][0]})" for w in ws)
            print(f"| {arch} | {len(oks)} | {cells} | {spread(v for _, v in h.values())} |")


if __name__ == "__main__":
    main()
