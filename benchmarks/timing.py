"""One way to time a view for every benchmark: a warm-up call, then the median and the max;
and the set-up the per-view benchmarks share (arguments, the MNIST test set, the table)."""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("lenet5", "tinycnn")


def timed(fn, repeats: int) -> tuple[float, float]:
    """(median ms, max ms) of `repeats` calls after one warm-up call."""
    fn()
    t = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        t.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(t), max(t)


def view_args(doc: str, repeats: int, argv=None) -> argparse.Namespace:
    """--data-dir (the four MNIST files) and --repeats, described by the script's docstring."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    p.add_argument("--repeats", type=int, default=repeats)
    return p.parse_args(argv)


def start_table(first_column: str, context: str = "") -> None:
    """What ran it (torch, threads), then the header of a per-view timing table."""
    import torch
    print(f"{context}torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    print(f"| {first_column} | model | median ms | max ms | goal ms |")
    print("|---|---|---|---|---|")


def bundled_model(name: str):
    from cnn_demo import checkpoints
    return checkpoints.load(ROOT / "checkpoints" / name).model
