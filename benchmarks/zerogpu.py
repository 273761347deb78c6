"""A ZeroGPU Space, emulated as the tests emulate it (the real `spaces` package in ZeroGPU mode,
its device API on loopback: tests/fake_zerogpu.py), measured as a class would use it.

    python benchmarks/zerogpu.py [--standin] [--data-dir ../shared/data/mnist]

Prints: 16 learners × 4 `/classify` at once (answered, p50/p95); training runs through `/train`
with the seconds each declared against the seconds it held the GPU, its records and end to end;
a run over a spent quota (the app's sentence, and the CPU run it falls back to). On a machine
with CUDA leave out `--standin`: ZeroGPU's worker then trains on the real GPU. Without CUDA,
`--standin` lets the worker skip CUDA's start, so the runs go through ZeroGPU's schedule, fork
and release for real while the training runs on the worker's CPU (its seconds are then CPU
seconds, not a GPU's).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from fake_zerogpu import FakeZeroGPU, ip_token  # noqa: E402
from gradio_client import Client  # noqa: E402
from server import call, upload  # noqa: E402
from test_zerogpu import zero_app  # noqa: E402

from cnn_demo.ui.train_tab import DEFAULTS  # noqa: E402

TAB = {k: DEFAULTS[k] for k in ("arch", "epochs", "batch_size", "optimizer", "lr", "augment", "train_size")}
RUNS = [("the Train tab as it opens", TAB),
        ("LeNet-5, 2 epochs of 60,000, batch 256", dict(arch="lenet5", epochs=2, batch_size=256, train_size=0))]


def learners(url: str) -> tuple[int, float, float]:
    body = (ROOT / "examples" / "digits" / "mnist-test-0000-label7.png").read_bytes()

    def one(i):
        f = upload(url, body)
        t0 = time.perf_counter()
        ok = call(url, "classify", [f, "lenet5"], session=f"learner-{i}")[0] == "ok"
        return ok, (time.perf_counter() - t0) * 1e3
    with ThreadPoolExecutor(64) as ex:
        out = list(ex.map(one, range(64)))
    ms = sorted(t for _, t in out)
    return sum(ok for ok, _ in out), statistics.median(ms), ms[int(0.95 * len(ms)) - 1]


def run(url: str, api: FakeZeroGPU, token: str, kw: dict, name: str) -> dict:
    before = len(api.grants)
    client = Client(url, verbose=False, headers={"X-IP-Token": token})
    t0 = time.perf_counter()
    job = client.submit(**kw, seed=0, name=name, api_name="/train")
    result = job.result(timeout=900)
    total = time.perf_counter() - t0
    outs = list(job.outputs())
    grant = api.grants[before] if len(api.grants) > before else None
    return {"total": total, "result": result, "records": len(outs), "grant": grant,
            "note": next((o["note"] for o in outs if "note" in o), "")}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--standin", action="store_true", help="no CUDA here: the worker skips CUDA's start")
    a = p.parse_args(argv)
    import torch
    api = FakeZeroGPU()
    srv = zero_app(Path(tempfile.mkdtemp(prefix="zerogpu-bench-")), api, standin=a.standin)
    try:
        where = "the worker's CPU (stand-in)" if a.standin else (torch.cuda.get_device_name(0)
                                                                 if torch.cuda.is_available() else "no GPU")
        print(f"torch {torch.__version__}; the worker trains on: {where}\n")
        ok, p50, p95 = learners(srv.url)
        print(f"16 learners × 4 /classify at once: {ok}/64 answered, p50 {p50:.0f} ms, p95 {p95:.0f} ms\n")
        print("| run | declared s | GPU held s | end to end s | records | test accuracy | stopped at its limit | released as |")
        print("|---|---|---|---|---|---|---|---|")
        for i, (label, kw) in enumerate(RUNS * 2):  # each twice: a cold worker, then a warm one
            r = run(srv.url, api, ip_token("bench"), kw, f"bench-{i}")
            g = r["grant"]
            print(f"| {label} ({'cold' if i == 0 else 'warm'}) | {g.duration:.0f} | "
                  f"{g.held:.1f} | {r['total']:.1f} | {r['records']} | {r['result']['test_accuracy']:.4f} | "
                  f"{'yes' if r['result']['stopped'] else 'no'} | {'failed' if g.failed else 'done'} |")
        spent = ip_token("spent")
        api.spend(api.left(spent) - 5, spent)
        r = run(srv.url, api, spent, RUNS[0][1], "bench-spent")
        print(f"\nquota spent: {r['note']!r}\n  then on the CPU: {r['total']:.1f} s end to end, "
              f"test accuracy {r['result']['test_accuracy']:.4f}")
    finally:
        srv.close()
        api.close()


if __name__ == "__main__":
    main()
