"""Many learners at once: concurrent clients drive the running app over HTTP (loopback
only, bounded in count and time) — drawings through the Draw tab's event and image files
through /classify — with a training job running for part of the time.

    python benchmarks/load.py [--clients 16] [--seconds 60] [--no-batch] [--no-training]

Reports p50/p95/p99 round trip per endpoint, throughput, failed requests, and the
server's peak resident memory.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))
from draw_latency import call, drawings, free_port, png, round_trip, upload, wait_until_up  # noqa: E402


def classify_trip(client, url: str, body: bytes, model: str, session: str) -> float:
    t0 = time.perf_counter()
    probs = call(client, url, "classify", [upload(client, url, body, "digit.png"), model], session)[0]
    if len(probs) != 10 or abs(sum(probs.values()) - 1) > 1e-3:
        raise RuntimeError(f"bad answer {probs}")
    return time.perf_counter() - t0


def mem_mb(pid: int) -> dict:
    """Resident memory of a process in MB: VmRSS (all), VmHWM (peak), RssAnon (the process's
    own), RssFile (pages of mapped files, e.g. shared libraries)."""
    vals = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            vals[k] = int(v.split()[0]) / 1024
    return vals


def children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--no-batch", action="store_true", help="serve each request with its own forward pass")
    p.add_argument("--no-training", action="store_true")
    a = p.parse_args(argv)
    import httpx
    from gradio_client import Client

    bodies = [png(im) for im in drawings(200)]
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
           "CNN_DEMO_BATCH": "0" if a.no_batch else "1", "GRADIO_ANALYTICS_ENABLED": "False",
           "HF_HUB_OFFLINE": "1"}
    env.setdefault("CNN_DEMO_CHECKPOINTS", str(Path("/tmp") / f"cnn_demo_load_{port}"))
    env.setdefault("CNN_DEMO_DATA", str(ROOT.parent / "shared" / "data" / "mnist"))
    server = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(url, server)
        base = mem_mb(server.pid)
        results = {"draw": [], "classify": []}
        stamps = {"draw": [], "classify": []}  # when each request ended, s from the start
        fails = {"draw": 0, "classify": 0}
        errors: list[str] = []
        lock = threading.Lock()
        start = time.perf_counter()
        stop_at = start + a.seconds
        train_window = [None, None]

        def trainer():
            time.sleep(a.seconds / 4)
            job = Client(url, verbose=False).submit(arch="lenet5", epochs=1, train_size=60000, batch_size=128,
                                                    name=f"load-{port}", api_name="/train")
            train_window[0] = time.perf_counter() - start
            try:
                job.result(timeout=a.seconds * 2)
            except Exception as e:
                errors.append(f"training: {e}")
            train_window[1] = time.perf_counter() - start

        def client(k):
            kind_cycle = ["draw", "draw", "classify"]
            with httpx.Client(timeout=30) as c:
                i = k
                while time.perf_counter() < stop_at:
                    kind = kind_cycle[i % 3]
                    body = bodies[i % len(bodies)]
                    try:
                        if kind == "draw":
                            dt = round_trip(c, url, body, "lenet5", f"load{k}")
                        else:
                            dt = classify_trip(c, url, body, "lenet5", f"load{k}")
                        with lock:
                            results[kind].append(dt * 1e3)
                            stamps[kind].append(time.perf_counter() - start)
                    except Exception as e:
                        with lock:
                            fails[kind] += 1
                            if len(errors) < 5:
                                errors.append(f"{kind}: {type(e).__name__}: {str(e)[:200]}")
                    i += 1

        threads = [threading.Thread(target=client, args=(k,)) for k in range(a.clients)]
        if not a.no_training:
            threads.append(threading.Thread(target=trainer, daemon=True))
        peak_anon = peak_child = 0.0
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads[:a.clients]):
            peak_anon = max(peak_anon, mem_mb(server.pid).get("RssAnon", 0.0))
            for pid in children(server.pid):  # the training run's own process
                try:
                    peak_child = max(peak_child, mem_mb(pid).get("VmRSS", 0.0))
                except OSError:
                    pass
            time.sleep(0.5)
        wall = time.perf_counter() - start
        end = mem_mb(server.pid)
    finally:
        server.terminate()
        server.wait(10)

    mode = "micro-batching on" if not a.no_batch else "micro-batching off"
    tw = train_window
    training = ("no training job" if a.no_training else
                f"a LeNet-5 training job (60,000 images, 1 epoch) ran from {tw[0] or 0:.0f} s to "
                + (f"{tw[1]:.0f} s" if tw[1] else "past the end"))
    print(f"{a.clients} clients for {wall:.0f} s on loopback, {mode}, {training}; {os.cpu_count()} CPUs\n")
    print("| endpoint | requests | failed | per s | p50 ms | p95 ms | p99 ms |")
    print("|---|---|---|---|---|---|---|")
    for k, v in results.items():
        q = np.percentile(v, [50, 95, 99]) if v else [float("nan")] * 3
        print(f"| {'/draw (Draw tab event)' if k == 'draw' else '/classify'} | {len(v)} | {fails[k]} | "
              f"{len(v) / wall:.1f} | {q[0]:.0f} | {q[1]:.0f} | {q[2]:.0f} |")
    if tw[0] is not None:
        lo, hi = tw[0], tw[1] or wall
        for k in results:
            during = [v for v, t in zip(results[k], stamps[k]) if lo <= t <= hi]
            if during:
                print(f"while training: {k} p95 {np.percentile(during, 95):.0f} ms over {len(during)} requests")
    total = sum(len(v) for v in results.values())
    print(f"\nthroughput {total / wall:.1f} requests/s; failed {sum(fails.values())}")
    print(f"server memory (MB): resident {base['VmRSS']:.0f} at start, peak {end['VmHWM']:.0f}; of which its own "
          f"(anonymous) {base['RssAnon']:.0f} at start, peak {peak_anon:.0f}; mapped files (libraries) "
          f"{end['RssFile']:.0f}")
    if peak_child:
        print(f"the training run's own process: peak {peak_child:.0f} MB resident (returned when it ends)")
    for e in errors:
        print("error:", e)


if __name__ == "__main__":
    main()
