"""Mutation testing of the core (`cnn_demo/` outside `ui/`): small bugs planted by mutmut one
at a time — a comparison flipped, a constant nudged, a call's argument dropped — and the
module's own tests run against each. A mutant the tests do not notice *survived*: either a
test is missing, or the change makes no difference the app could show (an *equivalent*
mutant, listed below with the one-line argument why).

Not part of CI: a module takes minutes to an hour on two cores. Run one module at a time:

    /path/to/venv/bin/pip install -r benchmarks/requirements-mutation.txt
    python benchmarks/mutation.py limits share_link      # or no names: all of MODULES
    python benchmarks/mutation.py --list                 # the module → test files map

Each module is mutated in a scratch copy of the work tree (default /tmp/cnn-mutation/<module>,
`--work` to change it), so nothing here is touched; mutmut's results stay there (`mutmut
results`, `mutmut show <mutant>` inside it). One worker process at a time (`--max-children 1`).
The table: mutants, killed (a test failed or timed out), survived, no tests (no selected test
reaches that function), equivalent (survivors argued below), and the score = killed /
(mutants − equivalent).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# each core module → the test files that speak for it (fast ones: no app server, no browser; a few
# slow tests that train or evaluate on all of MNIST are left out with --deselect)
MODULES = {
    "limits": ["tests/test_limits.py", "tests/test_preprocess_edges.py", "tests/test_registry_edges.py"],
    "share_link": ["tests/test_share_link.py", "tests/test_share_link_edges.py"],
    "lessons": ["tests/test_lessons.py", "tests/test_lessons_edges.py"],
    "registry": ["tests/test_registry.py", "tests/test_registry_edges.py"],
    "preprocess": ["tests/test_preprocess.py", "tests/test_preprocess_edges.py"],
    "playground": ["tests/test_playground.py", "tests/test_playground_edges.py"],
    "unit": ["tests/test_unit.py", "tests/test_unit_edges.py"],
    "recognise": ["tests/test_recognise.py", "tests/test_recognise_edges.py"],
    "as_drawn": ["tests/test_as_drawn.py", "tests/test_as_drawn_edges.py"],
    "writing_styles": ["tests/test_writing_styles.py", "tests/test_writing_styles_edges.py",
                       "--deselect=tests/test_writing_styles.py::test_training_sees_the_styled_digits"],
    "checkpoints": ["tests/test_checkpoints.py", "tests/test_checkpoints_edges.py", "tests/test_checkpoints_load.py",
                    "--deselect=tests/test_checkpoints.py::test_bundled_checkpoints_meet_their_accuracy"],
    "hub": ["tests/test_hub.py", "tests/test_hub_edges.py", "tests/test_hub_card.py"],
}

# survivors that no test can kill: (module, function, the line as mutated) → why the change makes no
# difference. Keyed by the mutated line's text (stripped), so the list survives mutmut renumbering.
_SQUARE = "the app's stages are square (kernel, stride, padding alike both ways; unit.py works out square ones)"
EQUIVALENT: dict[tuple[str, str, str], str] = {
    ("limits", "check_image_size", 'f"{JPEG_MAX_PIXELS / 1000001.0:.0f} megapixels: send a smaller picture of the digit.")'):
        "50e6 / 1000001 still prints as 50",
    ("limits", "check_image_size", 'f"and {UPLOAD_MAX_PIXELS / 1000001.0:.0f} megapixels (JPEG photos up to "'):
        "12e6 / 1000001 still prints as 12",
    ("limits", "check_image_size", 'f"{JPEG_MAX_PIXELS / 1000001.0:.0f} megapixels): send a smaller picture.")'):
        "50e6 / 1000001 still prints as 50",
    ("as_drawn", "_chunk", "torch.set_num_threads(2)"): "threads change the speed, not the digits",
    **{("as_drawn", "as_drawn", line): "how many workers and chunks changes the speed, not the digits (checked equal to "
       "preprocessing digit by digit on both paths)" for line in (
        "workers = max(1, min(workers or os.cpu_count() and 1, 32))",
        "workers = max(1, min(workers or os.cpu_count() or 2, 32))",
        "workers = max(1, min(workers or os.cpu_count() or 1, 33))", "parts = np.array_split(images, workers * 5)")},
    ("as_drawn", "as_drawn", "images = np.ascontiguousarray(images, dtype=None)"):
        "to_ink reads 0–255 integers and floats as it reads uint8",
    ("as_drawn", "as_drawn", "images = np.ascontiguousarray(images, )"):
        "to_ink reads 0–255 integers and floats as it reads uint8",
    **{("as_drawn", "cached", line): "a uint8 array is never pickled: allow_pickle changes nothing for it (False is "
       "np.load's default)" for line in ("out = np.load(path, allow_pickle=None)", "out = np.load(path, )",
                                         "np.save(f, out, allow_pickle=None)", "np.save(f, out, )",
                                         "np.save(f, out, allow_pickle=True)")},
    **{("writing_styles", "_pen", line): "distances in float64 give the same ink at float32's precision"
       for line in ("d = np.full((h, w), np.inf, )", "d = np.full((h, w), np.inf, None)",
                    "yy, xx = np.mgrid[0:h, 0:w].astype(None)")},
    ("writing_styles", "_pen", "np.maximum(canvas, np.clip(radius + 0.5 - d, None, 1), out=canvas)"):
        "the canvas is ≥ 0 already: negative ink never wins the maximum",
    ("writing_styles", "add_style", "m = up >= 0.5"): "up is a uint8 image / 255: no pixel is exactly 0.5",
    ("writing_styles", "styled", "for i in np.flatnonzero(np.isin(labels, STYLED) & (rng.random(len(labels)) <= share)):"):
        "rng.random() is exactly share with probability 0",
    ("writing_styles", "styled", 'out[int(i)] = np.round(preprocess(up, ).image * 255).astype(np.uint8)'):
        "auto paper reads a stroked MNIST digit as dark paper does: its border is black and its brightest ink is 1",
    ("lessons", "load", 'lessons.append(parse(path.read_text(encoding=None), path.stem))'):
        "the locale's encoding is UTF-8 here and on Spaces (Python 3.11 cannot be told otherwise from inside a test)",
    ("lessons", "load", 'lessons.append(parse(path.read_text(encoding="UTF-8"), path.stem))'): "the same codec",
    **{("playground", "_k", line): "_k runs only at import, before mutmut switches a mutant on (the presets it "
       "builds are checked against numpy)" for line in ("return np.array(None, dtype=np.float32)",
                                                      "return np.array(rows, dtype=None)", "return np.array(dtype=np.float32)",
                                                      "return np.array(rows, )")},
    ("playground", "parse_kernel", "tall, wide = len(rows), max((len(r) for r in rows), default=1)"):
        "with no rows, 0 and 1 both pass the size check, and the empty grid is refused next",
    ("playground", "parse_kernel", "out = np.zeros((len(rows), width), None)"):
        "check_kernels makes the grid float32 before anyone sees it",
    ("playground", "parse_kernel", "out = np.zeros((len(rows), width), )"):
        "check_kernels makes the grid float32 before anyone sees it",
    ("playground", "chain", "raise PlaygroundError(None)"): "unreachable: pool() refuses an unknown pooling first",
    ("playground", "chain", """raise PlaygroundError(f"Pooling must be one of {', '.join(None)}, not {pooling!r}.")"""):
        "unreachable: pool() refuses an unknown pooling first",
    ("playground", "chain", """raise PlaygroundError(f"Pooling must be one of {'XX, XX'.join(POOLINGS)}, not {pooling!r}.")"""):
        "unreachable: pool() refuses an unknown pooling first",
    ("playground", "random_bank", "conv = torch.nn.Conv2d(in_channels, out_channels, k, bias=None)"):
        "only the weights are returned, and they are drawn from the seeded generator whatever the bias",
    ("playground", "random_bank", "conv = torch.nn.Conv2d(in_channels, out_channels, k, )"):
        "only the weights are returned, and they are drawn from the seeded generator whatever the bias",
    ("playground", "random_bank", "conv = torch.nn.Conv2d(in_channels, out_channels, k, bias=True)"):
        "only the weights are returned, and they are drawn from the seeded generator whatever the bias",
    ("recognise", "_templates", "c1, c2 = (got[0][0], got[1][0]) if len(got) == 3 and len(got[0]) == 4 == len(got[1]) else (17, 32)"):
        "the default widths build a template only for layers that cannot be TinyCNN's, so it matches at no width",
    ("recognise", "_templates", "c1, c2 = (got[0][0], got[1][0]) if len(got) == 3 and len(got[0]) == 4 == len(got[1]) else (16, 33)"):
        "the default widths build a template only for layers that cannot be TinyCNN's, so it matches at no width",
    ("recognise", "example_digits", 'x = torch.cat([preprocess(np.asarray(Image.open(p).convert(None))).tensor() for p in files])'):
        "the bundled examples are 8-bit grayscale already (a test checks): convert(None) copies them as they are",
    ("recognise", "example_digits", 'y = torch.tensor([int(p.stem.rsplit("label", )[1]) for p in files])'):
        "the file names hold 'label' once: every split gives the same last part",
    ("recognise", "example_digits", 'y = torch.tensor([int(p.stem.split("label", 1)[1]) for p in files])'):
        "the file names hold 'label' once: every split gives the same last part",
    ("recognise", "example_digits", 'y = torch.tensor([int(p.stem.rsplit("label", 2)[1]) for p in files])'):
        "the file names hold 'label' once: every split gives the same last part",
    ("share_link", "pack_drawing", "a = np.asarray(img, None)"): "the bits (pixel < INK) are the same in the image's own dtype",
    ("share_link", "pack_drawing", "a = np.asarray(img, )"): "the bits (pixel < INK) are the same in the image's own dtype",
    ("share_link", "pack_drawing", "blocks = np.minimum.reduceat(np.minimum.reduceat(a, ys[:-1], ), xs[:-1], 1)"):
        "axis 0 is reduceat's default",
    ("share_link", "unpack_drawing", "def unpack_drawing(token: str, canvas: int = 401, side: int = BITMAP) -> np.ndarray:"):
        "401 // 100 is 4, as 400 // 100: the same 4×4 blocks",
    ("share_link", "unpack_drawing", "return np.where(np.kron(bits, np.ones((k, k), None)) > 0, 0, 255).astype(np.uint8)"):
        "a float kron of 0/1 bits is > 0 exactly where the uint8 one is",
    ("share_link", "unpack_drawing", "return np.where(np.kron(bits, np.ones((k, k), )) > 0, 0, 255).astype(np.uint8)"):
        "a float kron of 0/1 bits is > 0 exactly where the uint8 one is",
    ("unit", "_spatial", "return module.kernel_size[1], module.stride[0], module.padding[0]"): _SQUARE,
    ("unit", "_spatial", "return module.kernel_size[0], module.stride[1], module.padding[0]"): _SQUARE,
    ("unit", "_spatial", "return module.kernel_size[0], module.stride[0], module.padding[1]"): _SQUARE,
    ("unit", "_spatial", "as_int = (lambda v: v if isinstance(v, int) else v[1])"): _SQUARE,
    ("unit", "_spatial", "return as_int(k), as_int(s if (s is not None) or True else k), as_int(p)"):
        "torch's poolings set their stride to their size when none is given: s is never None",
    ("unit", "softmax_steps", "z = np.asarray(logits, dtype=np.float64).reshape(-2)"):
        "numpy reads any negative size as 'the rest', −2 as −1",
    ("unit", "_linear", "raise UnitError(None)"):
        "unreachable: only a Linear gives a 1-D output (explain takes convolutions, poolings and linear layers)",
}

STATUS = {1: "killed", 3: "killed", 36: "timeout", -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout",
          0: "survived", 5: "no tests", 33: "no tests", None: "not checked"}  # mutmut's exit codes


def scratch_copy(module: str, work: Path) -> Path:
    """The work tree's files (tracked, and new ones git does not ignore) in work/<module>/repo,
    with ../shared beside it as the tests expect (a link to this checkout's)."""
    dest = work / module
    shutil.rmtree(dest, ignore_errors=True)
    repo = dest / "repo"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for f in filter(None, files):
        src = ROOT / f
        if src.is_file():
            (repo / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / f)
    shared = ROOT.parent / "shared"
    if shared.is_dir():  # tests/conftest.py reads <repo root>/../shared; mutmut's root is repo/mutants
        (repo / "shared").symlink_to(shared.resolve())
    tests = MODULES[module]
    missing = [t for t in tests if not t.startswith("-") and not (repo / t).is_file()]
    if missing:
        sys.exit(f"{module}: no such test file {', '.join(missing)}")
    (repo / "setup.cfg").write_text(
        "[mutmut]\nsource_paths = cnn_demo\n"
        f"only_mutate = cnn_demo/{module}.py\n"
        "also_copy =\n    app.py\n    pytest.ini\n    checkpoints\n    examples\n    lessons\n"
        "pytest_add_cli_args_test_selection =\n" + "".join(f"    {t}\n" for t in tests)
        + "pytest_add_cli_args =\n    -p\n    no:cacheprovider\n"
        # mutmut times a mutant out at (the selected tests' own time + constant) × multiplier: the
        # constant covers what it does not time (module fixtures, imports in the forked worker)
        "timeout_constant = 10\ntimeout_multiplier = 5\n"
        # each mutant's worker is forked from a process that has imported the tests but run none
        # of them: forked from one that has (mutmut's default), a worker could inherit a lock held
        # by a thread of an earlier test and wait forever
        "process_isolation = forkserver\n")
    return repo


def function_of(name: str) -> str:
    """mutmut's mutant name → the function it is in: cnn_demo.m.x_f__mutmut_3 → f, a method
    cnn_demo.m.xǁCǁf__mutmut_3 → C.f."""
    f = re.sub(r"__mutmut_\d+$", "", name.split(".", 2)[2])
    return f[2:] if f.startswith("x_") else f.lstrip("x").strip("ǁ").replace("ǁ", ".")


_SHOW = """
import json, sys
from mutmut.__main__ import find_mutant, get_diff_for_mutant
out = {}
for name in json.loads(sys.stdin.read()):
    out[name] = get_diff_for_mutant(name, path=find_mutant(name).path)
print(json.dumps(out))
"""


def diffs_of(repo: Path, names: list, env: dict) -> dict:
    """{mutant: (line number in the module, line before, line after)}, from mutmut's diffs (of the
    function alone: the line is found in the source after its def), in one process."""
    raw = json.loads(subprocess.run([sys.executable, "-c", _SHOW], cwd=repo, env=env, input=json.dumps(names),
                                    capture_output=True, text=True, check=True).stdout or "{}")
    out = {}
    for name, diff in raw.items():
        lines = diff.splitlines()
        old = next((ln[1:].strip() for ln in lines if ln.startswith("-") and not ln.startswith("---")), "")
        new = next((ln[1:].strip() for ln in lines if ln.startswith("+") and not ln.startswith("+++")), "")
        src = (repo / "cnn_demo" / f"{name.split('.')[1]}.py").read_text().splitlines()
        fn = function_of(name).split(".")[-1]
        start = next((i for i, ln in enumerate(src) if re.match(rf"\s*def {re.escape(fn)}\(", ln)), 0)
        out[name] = (next((i + 1 for i in range(start, len(src)) if old and src[i].strip() == old), 0), old, new)
    return out


def run_module(module: str, work: Path, env: dict, report_only: bool = False) -> dict:
    repo, log, rc = work / module / "repo", work / module / "mutmut.log", 0
    t0 = time.time()
    if not report_only:
        repo = scratch_copy(module, work)
        with open(log, "w") as f:
            rc = subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", "1"], cwd=repo, env=env,
                                stdout=f, stderr=subprocess.STDOUT).returncode
    meta = repo / "mutants" / "cnn_demo" / f"{module}.py.meta"
    if rc != 0 or not meta.is_file():
        return {"module": module, "error": f"mutmut exited {rc}; see {log}"}
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    status = {k: STATUS.get(v, f"exit {v}") for k, v in codes.items()}
    survivors, equivalent = [], []
    names = sorted(k for k, s in status.items() if s in ("survived", "no tests"))
    diffs = diffs_of(repo, names, env)
    for name in names:
        line, old, new = diffs[name]
        why = EQUIVALENT.get((module, function_of(name), new))
        (equivalent if why else survivors).append((name, line, old, new, status[name], why))
    n = len(status)
    unchecked = sum(s == "not checked" for s in status.values())  # a run stopped part way
    killed = sum(s in ("killed", "timeout") for s in status.values())  # a mutant that hangs the tests is caught
    return {"module": module, "mutants": n, "killed": killed,
            "survived": sum(s == "survived" for s in status.values()),
            "no_tests": sum(s == "no tests" for s in status.values()),
            "timeouts": sum(s == "timeout" for s in status.values()),
            "other": sorted({s for s in status.values() if s not in ("killed", "survived", "no tests")}),
            "not_checked": unchecked,
            "equivalent": len(equivalent), "score": killed / max(n - unchecked - len(equivalent), 1),
            "survivors": survivors, "equivalents": equivalent,
            "seconds": time.time() - t0 if not report_only else float("nan")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("modules", nargs="*", help=f"core modules (default: all): {', '.join(MODULES)}")
    ap.add_argument("--work", type=Path, default=Path("/tmp/cnn-mutation"))
    ap.add_argument("--list", action="store_true", help="print the module → test files map and stop")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--report", action="store_true", help="no run: the table of the last run in --work")
    args = ap.parse_args()
    if args.list:
        for m, t in MODULES.items():
            print(f"{m:15} {' '.join(t)}")
        return
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        sys.exit(f"unknown module(s) {', '.join(unknown)}; known: {', '.join(MODULES)}")
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "PYTHONDONTWRITEBYTECODE": "1",
           # mutmut forks a worker per mutant from a process that has run torch: with a pool of
           # OpenMP threads the child hangs on its first parallel op, with one thread it cannot
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env.setdefault("CNN_DEMO_DATA", str(ROOT.parent / "shared" / "data" / "mnist"))
    results = []
    for m in args.modules or MODULES:
        print(f"{m}: mutating ...", flush=True)
        r = run_module(m, args.work, env, args.report)
        results.append(r)
        if "error" in r:
            print(f"  {r['error']}", flush=True)
            continue
        print(f"  {r['mutants']} mutants, {r['killed']} killed, {r['survived']} survived, {r['no_tests']} no tests,"
              f" {r['equivalent']} equivalent: {r['score']:.1%} in {r['seconds'] / 60:.1f} min", flush=True)
    print("\n| module | mutants | killed | of which timed out | survived | no tests | equivalent | score | minutes |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")  # score: of those checked
    for r in results:
        if "error" not in r:
            print(f"| {r['module']} | {r['mutants']} | {r['killed']} | {r['timeouts']} | {r['survived']} | {r['no_tests']} | "
                  f"{r['equivalent']} | {r['score']:.1%} | {r['seconds'] / 60:.1f} |"
                  + (f" ({r['not_checked']} not checked: the run was stopped)" if r["not_checked"] else ""))
    for r in results:
        for title, rows in (("survivors", r.get("survivors", [])), ("equivalent", r.get("equivalents", []))):
            if rows:
                print(f"\n{r['module']} {title}:")
                for name, line, old, new, st, why in rows:
                    print(f"  {r['module']}.py:{line} [{st}] {old!r} → {new!r}" + (f"  ({why})" if why else "")
                          + f"  ({name})")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
