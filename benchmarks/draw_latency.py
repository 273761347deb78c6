"""How fast the Draw tab answers a drawing.

(1) the server function alone: one drawing → every output (probabilities, input steps,
    all stage mosaics as inline HTML);
(2) the full round trip through the running app over Gradio's HTTP/SSE API, as the
    browser does it: call /draw with the canvas PNG as a data URL in the payload, read the
    SSE stream to the end;
(3) the same with N concurrent clients: throughput and failed requests.

    python benchmarks/draw_latency.py [--drawings 300] [--clients 8] [--model lenet5]
"""
from __future__ import annotations

import argparse
import atexit
import base64
import io
import json
import os
import socket
import statistics
import subprocess
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, proc, timeout: float = 120) -> None:
    import httpx
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError("the app exited before it served")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError("the app did not come up")


def pct(xs, q):
    return float(np.percentile(xs, q)) if xs else float("nan")


def png(a: np.ndarray) -> bytes:
    from PIL import Image
    b = io.BytesIO()
    Image.fromarray(a).save(b, format="PNG")
    return b.getvalue()


def upload(client, url: str, body: bytes, name: str) -> dict:
    """POST a file to Gradio's upload route, as the browser does; returns its FileData."""
    up = client.post(f"{url}gradio_api/upload", files={"files": (name, body, "image/png")})
    up.raise_for_status()
    return {"path": up.json()[0], "meta": {"_type": "gradio.FileData"}, "orig_name": name}


def call(client, url: str, api: str, data: list, session: str | None) -> list:
    """Join the queue for `api` and read its SSE stream to the end; returns the outputs."""
    r = client.post(f"{url}gradio_api/call/{api}", json={"data": data, "session_hash": session})
    r.raise_for_status()
    with client.stream("GET", f"{url}gradio_api/call/{api}/{r.json()['event_id']}") as s:
        event = None
        for line in s.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                if event == "error":
                    raise RuntimeError(line)
                return json.loads(line[5:])
    raise RuntimeError("stream ended early")


def round_trip(client, url: str, body: bytes, model: str, session: str | None = None) -> float:
    """One drawing as the browser sends it: join the queue for /draw with the canvas as a PNG
    data URL (in the client's session, as a browser tab keeps one), read the SSE stream to the end."""
    t0 = time.perf_counter()
    value = "data:image/png;base64," + base64.b64encode(body).decode("ascii")
    if not call(client, url, "draw", [value, model], session)[4]:  # the stage mosaics
        raise RuntimeError("empty response")
    return time.perf_counter() - t0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--drawings", type=int, default=300)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--seconds", type=float, default=15.0, help="duration of the concurrent run")
    p.add_argument("--model", default="lenet5")
    p.add_argument("--during-training", action="store_true",
                   help="measure while a training job (LeNet-5, all 60,000 images) runs in the app")
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

    # the app in its own process, as it runs for real: the clients must not share its GIL
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1"}
    server = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    atexit.register(server.kill)  # also when a step below fails: never leave the server behind
    url = f"http://127.0.0.1:{port}/"
    wait_until_up(url, server)
    bodies = [png(im) for im in imgs]
    train_job = None
    if a.during_training:
        from gradio_client import Client
        train_job = Client(url, verbose=False).submit(arch="lenet5", epochs=10, batch_size=128, train_size=60000,
                                                      name=f"bench-{port}", api_name="/train")
        while not train_job.outputs():  # wait until it is really training
            if train_job.done():
                train_job.result()  # raises the job's error (e.g. no MNIST: set CNN_DEMO_DATA)
                raise SystemExit("the training job ended before it could be measured against")
            time.sleep(0.2)
    with httpx.Client(timeout=30) as c:
        for b in bodies[:10]:
            round_trip(c, url, b, a.model, "warmup")
        rt = [round_trip(c, url, b, a.model, "single") * 1e3 for b in bodies]

    lat, fails, lock = [], [0], threading.Lock()
    stop_at = time.perf_counter() + a.seconds

    def worker(k):
        with httpx.Client(timeout=30) as c:
            i = k
            while time.perf_counter() < stop_at:
                try:
                    dt = round_trip(c, url, bodies[i % len(bodies)], a.model, f"client{k}")
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
    training_note = ""
    if train_job is not None:
        outs = train_job.outputs()
        still = not train_job.done()
        training_note = (f", while a training job ran (at step {outs[-1].get('step')} of "
                         f"{outs[-1].get('total_steps')} when the measurement ended; still running: {still})")
    server.terminate()
    server.wait(10)

    print(f"Draw tab latency, model {a.model}, {len(imgs)} pen-drawn digits on a {strokes.CANVAS}px canvas, "
          f"torch {torch.__version__}, {os.cpu_count()} CPUs{training_note}\n")
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
