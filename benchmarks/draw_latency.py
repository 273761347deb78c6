"""How fast the Draw tab answers a drawing.

(1) the server function alone: one drawing → every output (probabilities, input steps,
    all stage mosaics as inline HTML);
(2) the full round trip through the running app over Gradio's HTTP/SSE API, as the
    browser does it: upload the canvas PNG, call /draw, read the SSE stream to the end;
(3) the same with N concurrent clients: throughput and failed requests.

    python benchmarks/draw_latency.py [--drawings 300] [--clients 8] [--model lenet5]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from cnn_demo import strokes  # noqa: E402


def drawings(n: int, seed: int = 0) -> list[np.ndarray]:
    digits = json.loads((ROOT.parent / "shared" / "data" / "pendigits-dev" / "strokes.json").read_text())
    rng = np.random.default_rng(seed)
    return [strokes.render(strokes.random_placement(d["strokes"], rng)) for d in digits[:n]]


def pct(xs, q):
    return float(np.percentile(xs, q)) if xs else float("nan")


def png(a: np.ndarray) -> bytes:
    from PIL import Image
    b = io.BytesIO()
    Image.fromarray(a).save(b, format="PNG")
    return b.getvalue()


def round_trip(client, url: str, body: bytes, model: str) -> float:
    t0 = time.perf_counter()
    up = client.post(f"{url}gradio_api/upload", files={"files": ("canvas.png", body, "image/png")})
    up.raise_for_status()
    path = up.json()[0]
    fd = {"path": path, "meta": {"_type": "gradio.FileData"}, "orig_name": "canvas.png"}
    value = {"background": None, "layers": [], "composite": fd, "id": None}
    r = client.post(f"{url}gradio_api/call/draw", json={"data": [value, model]})
    r.raise_for_status()
    eid = r.json()["event_id"]
    with client.stream("GET", f"{url}gradio_api/call/draw/{eid}") as s:
        event = None
        for line in s.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                if event == "error":
                    raise RuntimeError(line)
                data = json.loads(line[5:])
                if not data[4]:  # the stage mosaics
                    raise RuntimeError("empty response")
                break
        else:
            raise RuntimeError("stream ended early")
    return time.perf_counter() - t0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--drawings", type=int, default=300)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--seconds", type=float, default=15.0, help="duration of the concurrent run")
    p.add_argument("--model", default="lenet5")
    a = p.parse_args(argv)
    import httpx
    import torch

    import app as app_module
    from cnn_demo.analyse import analyse

    imgs = drawings(a.drawings)
    demo = app_module.build_app()
    names = a.model.split("+")
    entries = [demo.registry.get(n) for n in names]
    for im in imgs[:10]:
        analyse(im, entries)
    t = []
    for im in imgs:
        t0 = time.perf_counter()
        analyse(im, entries)
        t.append(time.perf_counter() - t0)
    fn_ms = [x * 1e3 for x in t]

    demo.queue(default_concurrency_limit=4).launch(server_name="127.0.0.1", server_port=0 or None,
                                                   prevent_thread_lock=True, quiet=True,
                                                   **app_module.launch_kwargs())
    url = demo.local_url
    bodies = [png(im) for im in imgs]
    with httpx.Client(timeout=30) as c:
        for b in bodies[:10]:
            round_trip(c, url, b, a.model)
        rt = [round_trip(c, url, b, a.model) * 1e3 for b in bodies]

    lat, fails, lock = [], [0], threading.Lock()
    stop_at = time.perf_counter() + a.seconds

    def worker(k):
        with httpx.Client(timeout=30) as c:
            i = k
            while time.perf_counter() < stop_at:
                try:
                    dt = round_trip(c, url, bodies[i % len(bodies)], a.model)
                    with lock:
                        lat.append(dt * 1e3)
                except Exception:
                    with lock:
                        fails[0] += 1
                i += a.clients

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(a.clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    demo.close()

    print(f"Draw tab latency, model {a.model}, {len(imgs)} pen-drawn digits on a {strokes.CANVAS}px canvas, "
          f"torch {torch.__version__}, {os.cpu_count()} CPUs\n")
    print("| measurement | median ms | p95 ms | p99 ms | n |")
    print("|---|---|---|---|---|")
    print(f"| server function (drawing → all outputs) | {statistics.median(fn_ms):.1f} | {pct(fn_ms, 95):.1f} | "
          f"{pct(fn_ms, 99):.1f} | {len(fn_ms)} |")
    print(f"| HTTP round trip, 1 client | {statistics.median(rt):.1f} | {pct(rt, 95):.1f} | {pct(rt, 99):.1f} | "
          f"{len(rt)} |")
    print(f"| HTTP round trip, {a.clients} concurrent clients | {statistics.median(lat):.1f} | {pct(lat, 95):.1f} | "
          f"{pct(lat, 99):.1f} | {len(lat)} |")
    print(f"\n{a.clients} clients for {wall:.1f} s: {len(lat) / wall:.1f} drawings/s, {fails[0]} failed requests")


if __name__ == "__main__":
    main()
