"""Which training recipe reads unseen writers best: train every recipe below for both
architectures with the app's own CLI, then score them writer by writer on the pen-drawn
development digits, choosing by held-out writers (`pen_digits.py --candidates`).

    OMP_NUM_THREADS=1 python benchmarks/writer_recipes.py --data-dir ../shared/data/mnist [--parallel 2] [--only base drawn]

Runs that already have a checkpoint in --out are not trained again. On a 2-core CPU, two runs
at a time with one thread each: 5–8 minutes a LeNet-5 run, 7–10 a TinyCNN run. On a GPU the
runs can go four at a time (tiny networks leave it mostly idle).
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

# (arch, name, the CLI's flags): every run trains on all 60,000 MNIST digits, fp32, seed 0 unless
# said; what each gave is in BENCHMARKS.md, "Unseen writers"
RECIPES = [
    ("lenet5", "base", "--augment --epochs 20"),  # the bundled checkpoints' recipe before issue 15
    ("tinycnn", "base", "--augment --epochs 20"),
    ("lenet5", "drawn-warp", "--augment --drawn 0.5 --warp 34 --epochs 20"),
    ("tinycnn", "drawn-warp", "--augment --drawn 0.5 --warp 34 --epochs 20"),
    ("lenet5", "drawn", "--augment --drawn 0.5 --epochs 20"),  # bundled since issue 15
    ("lenet5", "drawn-seed1", "--augment --drawn 0.5 --epochs 20 --seed 1"),
    ("lenet5", "drawn08", "--augment --drawn 0.8 --epochs 20"),
    ("tinycnn", "drawn", "--augment --drawn 0.5 --epochs 20"),  # bundled since issue 15
    ("tinycnn", "drawn08-30", "--augment --drawn 0.8 --epochs 30"),
    ("tinycnn", "distil", "--augment --teacher {out}/lenet5-base --epochs 20"),  # teachers train first
    ("tinycnn", "drawn-distil", "--augment --drawn 0.5 --teacher {out}/lenet5-drawn --epochs 20"),
    # a second round for TinyCNN, the one further from its goal: how much is seed noise, and
    # whether training longer or regularising more carries over to unseen writers
    ("tinycnn", "drawn-seed1", "--augment --drawn 0.5 --epochs 20 --seed 1"),
    ("tinycnn", "drawn-30", "--augment --drawn 0.5 --epochs 30"),
    ("tinycnn", "drawn-ls", "--augment --drawn 0.5 --epochs 20 --label-smoothing 0.1"),
    ("tinycnn", "drawn-wd", "--augment --drawn 0.5 --epochs 20 --weight-decay 1e-4"),
    # label smoothing (0.1) lifted the weakest writer most; milder, longer, and for LeNet-5 too
    ("tinycnn", "drawn-ls05", "--augment --drawn 0.5 --epochs 20 --label-smoothing 0.05"),
    ("tinycnn", "drawn-ls-30", "--augment --drawn 0.5 --epochs 30 --label-smoothing 0.1"),
    ("lenet5", "drawn-ls", "--augment --drawn 0.5 --epochs 20 --label-smoothing 0.1"),
    # a wider TinyCNN (32/64 filters; benchmarks/wider_tinycnn.py first) has the capacity that
    # label smoothing took from the 16/32 one: bundled since its second round
    ("tinycnn", "w64-ls", "--augment --drawn 0.5 --epochs 20 --label-smoothing 0.1 --widths 32 64"),
    ("tinycnn", "w64-ls-seed1", "--augment --drawn 0.5 --epochs 20 --label-smoothing 0.1 --widths 32 64 --seed 1"),
    ("tinycnn", "w64-ls-seed2", "--augment --drawn 0.5 --epochs 20 --label-smoothing 0.1 --widths 32 64 --seed 2"),
    # LeNet-5 (its shape fixed by name) learning from the wider TinyCNN's answers
    ("lenet5", "drawn-distil-w64", "--augment --drawn 0.5 --epochs 20 --teacher {out}/tinycnn-w64-ls"),
    ("lenet5", "drawn-distil-w64-seed1", "--augment --drawn 0.5 --epochs 20 --teacher {out}/tinycnn-w64-ls --seed 1"),
    # a fifth round: 1s, 7s and 9s written the continental way (cnn_demo/writing_styles.py)
    ("lenet5", "styles", "--augment --drawn 0.5 --styles 0.5 --epochs 20"),  # bundled in the fifth round
    ("lenet5", "styles-seed1", "--augment --drawn 0.5 --styles 0.5 --epochs 20 --seed 1"),
    ("lenet5", "styles10", "--augment --drawn 0.5 --styles 1 --epochs 20"),  # bundled since the sixth round
    ("lenet5", "styles10-seed1", "--augment --drawn 0.5 --styles 1 --epochs 20 --seed 1"),
    ("tinycnn", "w64-ls-styles", "--augment --drawn 0.5 --epochs 20 --label-smoothing 0.1 --widths 32 64 --styles 0.5"),
    ("tinycnn", "w64-ls-styles-seed1",
     "--augment --drawn 0.5 --epochs 20 --label-smoothing 0.1 --widths 32 64 --styles 0.5 --seed 1"),
    # a sixth round: one recipe's seeds spread over two points (benchmarks/averaged.py), so the
    # two LeNet-5 levers judged on one or two seeds before get four: label smoothing, all styled
    *[("lenet5", f"styles-ls{f'-seed{s}' if s else ''}",
       f"--augment --drawn 0.5 --styles 0.5 --label-smoothing 0.1 --epochs 20 --seed {s}") for s in range(4)],
    *[("lenet5", f"styles10-seed{s}", f"--augment --drawn 0.5 --styles 1 --epochs 20 --seed {s}") for s in (2, 3)],
]


def run(arch: str, recipe: str, flags: str, out: Path, data_dir: str, device: str | None) -> tuple[str, float, str]:
    dest = out / f"{arch}-{recipe}"
    if (dest / "model.safetensors").is_file():
        return str(dest), 0.0, "kept"
    cmd = [sys.executable, "-m", "cnn_demo.train", "--arch", arch, "--data-dir", data_dir, "--out", str(dest),
           "--precision", "fp32", *flags.format(out=out).split()] + (["--device", device] if device else [])
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    return str(dest), time.perf_counter() - t0, (r.stdout.strip().splitlines() or [""])[-1] if r.returncode == 0 \
        else f"failed: {r.stderr.strip()[-300:]}"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", required=True)
    p.add_argument("--out", default=str(ROOT / "runs" / "recipes"))
    p.add_argument("--arch", nargs="+", default=["lenet5", "tinycnn"])
    p.add_argument("--only", nargs="*", help="recipe names to run (default: all)")
    p.add_argument("--parallel", type=int, default=4)
    p.add_argument("--device", default=None)
    a = p.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    todo = [r for r in RECIPES if r[0] in a.arch and (not a.only or r[1] in a.only)]
    if any("--drawn" in f for *_, f in todo):  # once, before the runs share it
        from cnn_demo import as_drawn
        from cnn_demo.data import read_folder
        t0 = time.perf_counter()
        as_drawn.cached(read_folder(a.data_dir).train_x)
        print(f"MNIST as drawn: {time.perf_counter() - t0:.0f} s", flush=True)
    done = []
    for phase in (False, True):  # students after their teachers
        jobs = [r for r in todo if ("--teacher" in r[2]) == phase]
        with ThreadPoolExecutor(max(1, a.parallel)) as pool:
            done += list(zip(jobs, pool.map(lambda j: run(*j, out, a.data_dir, a.device), jobs)))
    for (arch, r, _), (dest, secs, said) in done:
        print(f"{arch:8s} {r:16s} {secs:6.0f} s  {said}", flush=True)
    made = [d for _, (d, _, said) in done if not said.startswith("failed")]
    from benchmarks import pen_digits
    pen_digits.main(["--checkpoints", *made, "--candidates", *made])


if __name__ == "__main__":
    main()
