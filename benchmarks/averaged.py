"""Do averaged weights read unseen writers better? One training run of the bundled recipe,
read out several ways: the final weights (what the CLI saves), an exponential moving average
of every step's weights, and the uniform average of the last epochs' weights (SWA, Izmailov
et al. 2018; dense averaging is what SWAD, Cha et al. 2021, found to carry across domains).
The readouts share one trajectory, so they differ by the averaging alone, not by seed noise.

Each readout is saved as a checkpoint folder (`--out`/ARCH-READOUT[-seedN]) for
`pen_digits.py --candidates ... --by-recipe`, and printed as `report`'s row.

    OMP_NUM_THREADS=1 python benchmarks/averaged.py --data-dir ../shared/data/mnist --arch lenet5 --seed 0
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
import pen_digits  # noqa: E402
from cnn_demo import checkpoints  # noqa: E402
from cnn_demo.data import load_mnist  # noqa: E402
from cnn_demo.evaluate import accuracy  # noqa: E402
from cnn_demo.models import build  # noqa: E402
from cnn_demo.train import TrainConfig, train  # noqa: E402

# the bundled checkpoints' recipes when this ran (BENCHMARKS.md, the sixth round), fp32; LeNet-5's
# is now `--styles 1`
BUNDLED = {"lenet5": dict(augment=True, drawn=0.5, styles=0.5),
           "tinycnn": dict(augment=True, drawn=0.5, label_smoothing=0.1, widths=(32, 64))}
EMA_DECAY = 0.999  # about two epochs' memory at 469 steps an epoch


def main(argv=None):
    p = pen_digits.experiment_args(__doc__)
    p.add_argument("--out", default=str(ROOT / "runs" / "averaged"))
    a = p.parse_args(argv)
    data = load_mnist(a.data_dir)
    cfg = TrainConfig(arch=a.arch, epochs=a.epochs, precision="fp32", seed=a.seed, **BUNDLED[a.arch])
    torch.manual_seed(a.seed)
    model = build(a.arch, **({"widths": cfg.widths} if cfg.widths else {}))
    ema, snapshots = None, []

    def watch(ev):
        nonlocal ema
        if ev["kind"] == "step":
            with torch.no_grad():
                if ema is None:
                    ema = [q.detach().clone() for q in model.parameters()]
                for e, q in zip(ema, model.parameters()):
                    e.lerp_(q, 1 - EMA_DECAY)
        elif ev["kind"] == "eval" and ev["epoch_end"]:
            snapshots.append([q.detach().clone() for q in model.parameters()])

    t0 = time.perf_counter()
    r = train(cfg, data, device="cpu", on_event=watch, model=model)
    minutes = (time.perf_counter() - t0) / 60
    readouts = {"final": [q.detach() for q in r.model.parameters()], "ema": ema}
    for k in (5, 10):
        last = snapshots[-k:]
        readouts[f"swa{k}"] = [torch.stack(qs).mean(0) for qs in zip(*last)]
    tx, ty = data.images("test"), data.labels("test")
    rows = []
    for name, params in readouts.items():
        m = build(a.arch, **r.model.kwargs())
        with torch.no_grad():
            for q, v in zip(m.parameters(), params):
                q.copy_(v)
        m.eval()
        acc = accuracy(m, tx, ty)
        suffix = f"-seed{a.seed}" if a.seed else ""
        checkpoints.save(m, Path(a.out) / f"{a.arch}-{name}{suffix}",
                         {**r.meta(), "test_accuracy": round(acc, 4), "readout": name})
        rows.append(pen_digits.report(m, {"arch": a.arch, "readout": name, "seed": str(a.seed)}, acc, minutes))
    print(rows[0])
    print("\n".join(row.splitlines()[-1] for row in rows[1:]))


if __name__ == "__main__":
    main()
