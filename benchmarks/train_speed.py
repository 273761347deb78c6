"""Seconds of training until LeNet-5 first reaches 99.0 % MNIST test accuracy, per seed.

Data held in memory as tensors; Adam + one-cycle, label smoothing 0.1, bf16 autocast where the
hardware has bf16 units, channels_last on the CPU; test accuracy measured 8 times an epoch
(evaluation time is not counted as training time).

    python benchmarks/train_speed.py [--data-dir ../shared/data/mnist] [--seeds 0 1 2 3 4] [--device cpu]
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from cnn_demo.data import load_mnist  # noqa: E402
from cnn_demo.devices import default_device  # noqa: E402
from cnn_demo.train import TrainConfig, train  # noqa: E402

RECIPE = dict(arch="lenet5", epochs=3, batch_size=256, optimizer="adam", lr=8e-3, schedule="onecycle",
              label_smoothing=0.1, precision="auto")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--device", default=default_device())
    p.add_argument("--target", type=float, default=0.99)
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override the recipe (for trying variants)")
    a = p.parse_args(argv)
    for kv in a.set:
        k, v = kv.split("=", 1)
        RECIPE[k] = type(getattr(TrainConfig(), k))(v)
    data = load_mnist(a.data_dir)
    dev = torch.cuda.get_device_name() if a.device.startswith("cuda") else f"{platform.processor() or 'cpu'}, {os.cpu_count()} CPUs"
    print(f"LeNet-5 on MNIST, recipe {RECIPE}, device {a.device} ({dev}), torch {torch.__version__}\n")
    print(f"| seed | seconds to {a.target:.1%} | accuracy after the schedule | total training seconds |")
    print("|---|---|---|---|")
    hits = []
    for seed in a.seeds:
        hit = [None]

        def on_event(ev):
            if ev["kind"] == "eval" and hit[0] is None and ev["test_accuracy"] >= a.target:
                hit[0] = ev["train_seconds"]
        res = train(TrainConfig(**RECIPE, seed=seed), data, a.device, on_event=on_event, evals_per_epoch=8)
        hits.append(hit[0])
        print(f"| {seed} | {'not reached' if hit[0] is None else f'{hit[0]:.2f}'} | {res.test_accuracy:.4f} | "
              f"{res.train_seconds:.2f} |", flush=True)
    reached = [h for h in hits if h is not None]
    print(f"\nreached {a.target:.1%} on {len(reached)} of {len(hits)} seeds"
          + (f"; slowest {max(reached):.2f} s" if reached else ""))


if __name__ == "__main__":
    main()
