"""A public link under hostile visitors: each request of issue 12 (and others found since),
sent to the real app in its own process while an honest learner keeps drawing; then 16
clients calling /classify without a session (as `curl` does) for a minute.

For each request: what the app answered (its sentence, or that it served it), the peak
growth of the server's resident memory while it ran (VmHWM, reset before each request), its
wall time, and the honest learner's p95 round trip meanwhile. A loopback Hub
(tests/fake_hub.py) serves the Hub requests, its large files generated on demand.

    python benchmarks/hostile.py [--seconds 60] [--clients 16]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]
from draw_latency import drawings, png, round_trip  # noqa: E402
from fake_hub import Big, FakeHub  # noqa: E402
from server import AppServer, call, upload  # noqa: E402


def status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def tree_rss_mb(pid: int) -> float:
    """The server's resident memory plus its children's (a training run's process)."""
    total = status_kb(pid, "VmRSS")
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            for child in (task / "children").read_text().split():
                total += status_kb(int(child), "VmRSS")
        except OSError:
            pass
    return total / 1024


class Honest(threading.Thread):
    """A learner drawing a digit every 0.25 s in their own session, for the whole run."""

    def __init__(self, url: str, bodies: list[bytes]):
        super().__init__(daemon=True)
        self.url, self.bodies = url, bodies
        self.log: list[tuple[float, float]] = []  # (end time, ms)
        self.failures = 0
        self.stop = threading.Event()

    def run(self):
        import httpx
        with httpx.Client(timeout=60) as c:
            i = 0
            while not self.stop.is_set():
                try:
                    self.log.append((time.monotonic(), round_trip(c, self.url, self.bodies[i % len(self.bodies)],
                                                                  "lenet5", "honest-learner") * 1e3))
                except Exception:
                    self.failures += 1
                i += 1
                self.stop.wait(0.25)

    def p95(self, t0: float, t1: float) -> float:
        xs = [ms for t, ms in self.log if t0 <= t <= t1]
        return float(np.percentile(xs, 95)) if xs else float("nan")


def image_bytes(img, fmt="PNG", **kw) -> bytes:
    b = io.BytesIO()
    img.save(b, format=fmt, **kw)
    return b.getvalue()


def data_url(data: bytes) -> str:
    """The canvas's value as the page sends it: the PNG as a data URL in the event's payload."""
    import base64
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def outcome(result) -> str:
    """One short cell: the app's sentence (refused) or what it served."""
    if isinstance(result, list):
        kinds = {outcome(r) for r in result}
        return " / ".join(sorted(kinds)) + f" (×{len(result)})"
    if hasattr(result, "status_code"):
        return f"HTTP {result.status_code}: " + (result.json().get("detail", "") if result.status_code >= 400 else "ok")
    status, value = result
    if status == "error":
        return f"refused: {str(value)[:110]}"
    text = json.dumps(value)
    return f"served ({len(text) / 1e6:.1f} MB of JSON)" if len(text) > 100_000 else f"served: {text[:80]}"


def train_args(**kw):
    d = {"arch": "lenet5", "epochs": 1, "batch_size": 128, "optimizer": "adam", "lr": 0.003, "augment": False,
         "train_size": 6000, "seed": 0, "name": ""}
    d.update(kw)
    return list(d.values())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=60.0, help="length of the sessionless /classify load")
    p.add_argument("--clients", type=int, default=16)
    a = p.parse_args(argv)
    from PIL import Image

    hub = FakeHub()
    lenet = {f.name: f.read_bytes() for f in (ROOT / "checkpoints" / "lenet5").iterdir()}
    hub.add_repo("someone/zoo", {**lenet, **{f"runs/{i}/model.safetensors": Big(700 * 2**20) for i in range(3)},
                                 "data/all.json": Big(900 * 2**20)})
    hub.add_repo("someone/fat-weights", {"model.safetensors": Big(400 * 2**20)})
    hub.add_repo("someone/fat-insights", {"model.safetensors": lenet["model.safetensors"],
                                          "insights.safetensors": Big(400 * 2**20)})
    tmp = Path(tempfile.mkdtemp(prefix="cnn_demo_hostile_"))
    app = AppServer(tmp, {"HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0",
                          "CNN_DEMO_DATA": str(ROOT.parent / "shared" / "data" / "mnist")})
    bodies = [png(im) for im in drawings(60)]
    honest = Honest(app.url, bodies)
    honest.start()
    time.sleep(2)

    huge_png = image_bytes(Image.new("L", (13000, 13000), 255), compress_level=9)
    rgba = image_bytes(Image.new("RGBA", (6300, 6300), (255, 255, 255, 255)), compress_level=9)
    allowed = image_bytes(Image.new("RGBA", (4000, 3000), (255, 255, 255, 255)))
    seven = next(d for d in json.loads((ROOT.parent / "shared" / "data" / "pendigits-dev" / "strokes.json")
                                       .read_text()) if d["label"] == 7)
    from cnn_demo import strokes
    ink = Image.fromarray(strokes.render(strokes.place(seven["strokes"], 0.6, canvas=1000), canvas=1000, brush=60))
    paper = Image.effect_noise((1000, 750), 8).point(lambda v: 200 + v // 8).convert("RGB")
    paper.paste(Image.merge("RGB", [ink.crop((0, 125, 1000, 875))] * 3), (0, 0),
                ink.crop((0, 125, 1000, 875)).point(lambda v: 255 - v))
    photo = image_bytes(paper.resize((8000, 6000), Image.Resampling.BILINEAR), "JPEG", quality=85)
    rgb1024 = image_bytes(Image.effect_noise((1024, 1024), 60).convert("RGB"))
    k11 = [[[1.0] * 11] * 11] * 16
    conv_defaults = ["same", 1, 1, "zeros", "none", 0.01, "none", 2, 2]
    grid = json.dumps({"data": [[["1"] * 1500] * 1500], "fn_index": 0, "session_hash": "x"})
    canvas = image_bytes(Image.new("RGBA", (400, 400), (0, 0, 0, 0)))

    def parallel(n, fn):
        with ThreadPoolExecutor(n) as ex:
            return list(ex.map(lambda _: fn(), range(n)))

    def first_record(api, data):
        """POST a streaming call and read its first record (or its error), then stop reading."""
        with httpx.Client(timeout=60) as c:
            r = c.post(f"{app.url}gradio_api/call/{api}", json={"data": data})
            event = None
            with c.stream("GET", f"{app.url}gradio_api/call/{api}/{r.json()['event_id']}") as st:
                for line in st.iter_lines():
                    if line.startswith("event:"):
                        event = line.split(":", 1)[1].strip()
                    elif line.startswith("data:") and event in ("generating", "error", "complete"):
                        v = json.loads(line[5:])
                        return ("error", v.get("error")) if event == "error" else ("ok", v)

    def train_flood():
        out = parallel(6, lambda: first_record("train", train_args(epochs=3, name="")))
        for status, v in out:  # stop them again: the load below wants the CPU
            if status == "ok":
                call(app.url, "stop_training", [v[0]["job"]])
        return [("ok", ["waiting" if "waiting" in v[0] else "training"]) if st == "ok" else (st, v)
                for st, v in out]

    import httpx
    rows = [
        ("/draw: a 13000×13000 PNG (%d KB) as the canvas's data URL" % (len(huge_png) // 1024),
         lambda: call(app.url, "draw", [data_url(huge_png), "lenet5"])),
        ("/draw: 300 honest 400×400 canvases, one after another",
         lambda: [call(app.url, "draw", [data_url(canvas), "lenet5"]) for i in range(300)][-1]),
        ("4 parallel /classify of a 6300×6300 RGBA PNG (%d KB)" % (len(rgba) // 1024),
         lambda: parallel(4, lambda: call(app.url, "classify", [upload(app.url, rgba), "lenet5"]))),
        ("8 parallel /classify of the same",
         lambda: parallel(8, lambda: call(app.url, "classify", [upload(app.url, rgba), "lenet5"]))),
        ("8 parallel /classify of a 4000×3000 RGBA PNG (the largest allowed)",
         lambda: parallel(8, lambda: call(app.url, "classify", [upload(app.url, allowed), "lenet5"]))),
        ("8 parallel /classify of a 48-megapixel JPEG photo (%d KB)" % (len(photo) // 1024),
         lambda: parallel(8, lambda: call(app.url, "classify", [upload(app.url, photo), "lenet5"]))),
        ("/convolve: 1024² RGB, 16 kernels 11×11, padding 64",
         lambda: call(app.url, "convolve", [upload(app.url, rgb1024), k11, 64] + conv_defaults[1:])),
        ("/convolve: the same with padding 'same'",
         lambda: call(app.url, "convolve", [upload(app.url, rgb1024), k11] + conv_defaults)),
        ("/convolve: 4 kernels 11×11 with stride 2 (the most it returns: 4×256×256)",
         lambda: call(app.url, "convolve", [upload(app.url, rgb1024), k11[:4], "same", 2] + conv_defaults[2:])),
        ("/load_from_hub: a repo with 3 GB of .safetensors/.json at every depth",
         lambda: call(app.url, "load_from_hub", ["someone/zoo", "", ""])),
        ("/load_from_hub: model.safetensors of 400 MB",
         lambda: call(app.url, "load_from_hub", ["someone/fat-weights", "", ""])),
        ("/load_from_hub: insights.safetensors of 400 MB",
         lambda: call(app.url, "load_from_hub", ["someone/fat-insights", "", ""])),
        ("/train: 200 epochs, batch size 1, 60,000 images",
         lambda: call(app.url, "train", train_args(epochs=200, batch_size=1, train_size=60000))),
        ("/train: 6 runs at once (1 trains, 3 wait, the rest refused)", train_flood),
        ("a 1500×1500 kernel grid sent to the playground's event",
         lambda: httpx.post(f"{app.url}gradio_api/queue/join", content=grid, timeout=60,
                            headers={"content-type": "application/json"})),
        ("a 20 MB JSON body to /classify",
         lambda: httpx.post(f"{app.url}gradio_api/call/classify", content=b"[" + b"0," * (10 * 2**20) + b"0]",
                            timeout=60, headers={"content-type": "application/json"})),
    ]

    print(f"Hostile requests against the app (its own process, {os.cpu_count()} CPUs), one at a time, while a "
          "learner draws every 0.25 s\n")
    print("| request | the app's answer | server's peak memory growth MB | seconds | "
          "honest draw p95 ms meanwhile |")
    print("|---|---|---|---|---|")
    pid = app.proc.pid
    child_peak = [0.0]
    for name, fn in rows:
        time.sleep(1.0)
        base = status_kb(pid, "VmRSS") / 1024
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current size
        done = threading.Event()

        def watch_children():  # a training run's own process, measured apart from the server
            while not done.wait(0.05):
                child_peak[0] = max(child_peak[0], tree_rss_mb(pid) - status_kb(pid, "VmRSS") / 1024)
        watcher = threading.Thread(target=watch_children, daemon=True)
        watcher.start()
        t0 = time.monotonic()
        result = fn()
        t1 = time.monotonic()
        done.set()
        peak = status_kb(pid, "VmHWM") / 1024
        hp = honest.p95(t0, t1 + 0.3)
        print(f"| {name} | {outcome(result)} | {peak - base:.0f} | {t1 - t0:.1f} | "
              f"{'–' if hp != hp else f'{hp:.0f}'} |", flush=True)
    print(f"\nThe training run's own process (not the server) peaked at {child_peak[0]:.0f} MB resident.")
    time.sleep(5)  # the stopped runs wind down

    # ---- the sessionless load: Gradio's /classify as curl calls it, then the plain route ---------
    def gradio_classify(c, body):
        up = upload(app.url, body, "d.png", c)
        r = c.post(f"{app.url}gradio_api/call/classify", json={"data": [up, "lenet5"]})
        r.raise_for_status()
        with c.stream("GET", f"{app.url}gradio_api/call/classify/{r.json()['event_id']}") as s:
            for line in s.iter_lines():
                if line.startswith("event: complete"):
                    return
                if line.startswith("event: error"):
                    raise RuntimeError(line)
        raise RuntimeError("no result")

    def plain_classify(c, body):
        r = c.post(f"{app.url}api/classify?model=lenet5", content=body)
        r.raise_for_status()
        if len(r.json()) != 10:
            raise RuntimeError(r.text[:100])

    loads = []
    for label, one in (("Gradio's /classify, no session_hash (upload + call + result stream)", gradio_classify),
                       ("plain route POST /api/classify (the image as the body)", plain_classify)):
        lat, fails, lock, errors = [], [0], threading.Lock(), []
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        start_vm = status_kb(pid, "VmRSS") / 1024
        stop_at = time.monotonic() + a.seconds
        t_load = time.monotonic()

        def client(k):
            with httpx.Client(timeout=60) as c:
                i = k
                while time.monotonic() < stop_at:
                    t = time.perf_counter()
                    try:
                        one(c, bodies[i % len(bodies)])
                        with lock:
                            lat.append((time.perf_counter() - t) * 1e3)
                    except Exception as e:
                        with lock:
                            fails[0] += 1
                            if len(errors) < 3:
                                errors.append(f"{type(e).__name__}: {str(e)[:120]}")
                    i += a.clients

        threads = [threading.Thread(target=client, args=(k,)) for k in range(a.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - t_load
        loads.append((label, lat, fails[0], wall, start_vm, status_kb(pid, "VmHWM") / 1024,
                      status_kb(pid, "VmRSS") / 1024, errors))
        time.sleep(2)
    honest.stop.set()
    honest.join(5)
    print(f"\n{a.clients} clients without a session, closed loop, for {a.seconds:.0f} s each (the load generator "
          "shares the 2 CPUs)\n")
    print("| route | requests | failed | per s | p50 ms | p95 ms | p99 ms | server MB start / peak / end |")
    print("|---|---|---|---|---|---|---|---|")
    for label, lat, fails, wall, start_vm, peak_vm, end_vm, errors in loads:
        q = np.percentile(lat, [50, 95, 99]) if lat else [float("nan")] * 3
        print(f"| {label} | {len(lat)} | {fails} | {len(lat) / wall:.1f} | {q[0]:.0f} | {q[1]:.0f} | {q[2]:.0f} | "
              f"{start_vm:.0f} / {peak_vm:.0f} / {end_vm:.0f} |")
        for e in errors:
            print("error:", e)
    print(f"\nhonest learner over the whole benchmark: {len(honest.log)} drawings, {honest.failures} failed, "
          f"p95 {np.percentile([ms for _, ms in honest.log], 95):.0f} ms")
    print(f"tracebacks the server printed: {app.output().count('Traceback')}")
    app.close()
    hub.close()


if __name__ == "__main__":
    main()
