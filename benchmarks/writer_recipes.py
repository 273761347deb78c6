"""Which training recipe reads unseen writers best: train every recipe below for both
architectures with the app's own CLI, then score them writer by writer on the pen-drawn
development digits, choosing by held-out writers (`pen_digits.py --candidates`).

    python benchmarks/writer_recipes.py --data-dir ../shared/data/mnist [--parallel 4] [--only base drawn]

Runs that already have a checkpoint in --out are not trained again. On a GPU the runs go in
parallel (tiny networks leave it mostly idle); on a 2-core CPU use --parallel 1 and expect
about 10 minutes a run.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# name → the CLI's flags; every recipe trains on all 60,000 MNIST digits with seed 0
RECIPES = {
    "base": "--augment --epochs 20",  # the bundled checkpoints' recipe before issue 15
    "warp": "--augment --warp 34 --epochs 20",
    "drawn": "--augment --drawn 0.5 --epochs 20",
    "drawn-warp": "--augment --drawn 0.5 --warp 34 --epochs 20",
    "drawn-warp-40": "--augment --drawn 0.5 --warp 34 --epochs 40",
    "drawn-warp-ls": "--augment --drawn 0.5 --warp 34 --epochs 20 --label-smoothing 0.1",
    "drawn-warp-soft": "--augment --drawn 0.5 --warp 20 --epochs 20",
    "all-drawn-warp": "--augment --drawn 1 --warp 34 --epochs 20",
}


def run(arch: str, recipe: str, out: Path, data_dir: str, device: str | None) -> tuple[str, float, str]:
    dest = out / f"{arch}-{recipe}"
    if (dest / "model.safetensors").is_file():
        return str(dest), 0.0, "kept"
    cmd = [sys.executable, "-m", "cnn_demo.train", "--arch", arch, "--data-dir", data_dir, "--out", str(dest),
           *RECIPES[recipe].split()] + (["--device", device] if device else [])
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    return str(dest), time.perf_counter() - t0, (r.stdout.strip().splitlines() or [""])[-1] if r.returncode == 0 \
        else f"failed: {r.stderr.strip()[-300:]}"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", required=True)
    p.add_argument("--out", default=str(ROOT / "runs" / "recipes"))
    p.add_argument("--arch", nargs="+", default=["lenet5", "tinycnn"])
    p.add_argument("--only", nargs="*", default=list(RECIPES), choices=list(RECIPES))
    p.add_argument("--parallel", type=int, default=4)
    p.add_argument("--device", default=None)
    a = p.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    if any("--drawn" in RECIPES[r] for r in a.only):  # once, before the runs share it
        from cnn_demo import as_drawn
        from cnn_demo.data import read_folder
        t0 = time.perf_counter()
        as_drawn.cached(read_folder(a.data_dir).train_x)
        print(f"MNIST as drawn: {time.perf_counter() - t0:.0f} s", flush=True)
    jobs = [(arch, r) for r in a.only for arch in a.arch]
    with ThreadPoolExecutor(a.parallel) as pool:
        done = list(pool.map(lambda j: run(*j, out, a.data_dir, a.device), jobs))
    for (arch, r), (dest, secs, said) in zip(jobs, done):
        print(f"{arch:8s} {r:16s} {secs:6.0f} s  {said}", flush=True)
    made = [d for d, _, said in done if not said.startswith("failed")]
    from benchmarks import pen_digits
    pen_digits.main(["--checkpoints", *made, "--candidates", *made])


if __name__ == "__main__":
    main()
