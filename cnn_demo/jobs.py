"""A training run as a stream of plain progress records, for the Train tab and /train.

The run happens in a child process at low priority (in a thread on ZeroGPU, where the GPU
belongs to the app's process); the stream yields what changed about twice a second (plain
Python and numpy only, so it can cross a process boundary, as on ZeroGPU) and ends with the
saved checkpoint. A stop request is a file, so it reaches the run wherever it executes.
"""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from . import checkpoints, insights
from .data import DataError, cached
from .train import TrainConfig, default_device, train

STOP_DIR = Path(tempfile.gettempdir()) / "cnn_demo_stop"
MAX_TRAIN_SIZE = 60_000


def stop_file(job_id: str) -> Path:
    return STOP_DIR / f"{job_id}.stop"


def request_stop(job_id: str) -> None:
    STOP_DIR.mkdir(parents=True, exist_ok=True)
    stop_file(job_id).touch()


NICENESS = 10  # a run takes only the CPU that the drawing learners leave


def yield_cpu_to_learners(whole_process: bool = False) -> None:
    """Lower the CPU priority of this process (a run's own process) or of the calling thread
    (a run hosted in a thread: on Linux a thread has its own nice value). Where the system
    cannot, the run simply keeps normal priority."""
    try:
        if whole_process:
            os.nice(NICENESS)
        else:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)
    except (AttributeError, OSError):
        pass


def evals_per_epoch(epochs: int) -> int:
    """About a dozen test-accuracy points per run, whatever its length."""
    return max(1, min(8, round(12 / max(epochs, 1))))


def estimate_seconds(cfg: TrainConfig, device: str | None = None) -> float:
    """A rough upper bound on a run's length (for ZeroGPU's time budget)."""
    n = min(cfg.train_size or MAX_TRAIN_SIZE, MAX_TRAIN_SIZE)
    per_image = 2e-6 if (device or default_device()).startswith("cuda") else 6e-5
    return 20 + cfg.epochs * (n * per_image + evals_per_epoch(cfg.epochs) * 0.5)


def run_job(cfg: TrainConfig, name: str, out_dir: str, data_dir: str | None, device: str,
            threads: int | None, should_stop, emit) -> None:
    """The run itself, wherever it is hosted: train, save, precompute the dataset views. Emits
    every training event, then exactly one {"kind": "done"} or {"kind": "error"}."""
    if threads:
        torch.set_num_threads(threads)
    try:
        data = cached(data_dir)
        res = train(cfg, data, device, on_event=emit, should_stop=should_stop,
                    evals_per_epoch=evals_per_epoch(cfg.epochs))
        path = checkpoints.save_new(res.model, out_dir, name, res.meta())
        # the dataset views of the new checkpoint, while the test set is at hand (~1 s)
        insights.save(insights.compute(res.model, data.raw("test"), data.labels("test")), path)
        emit({"kind": "done", "checkpoint": name, "path": str(path), "test_accuracy": res.test_accuracy,
              "stopped": res.stopped, "train_seconds": res.train_seconds})
    except DataError as e:
        emit({"kind": "error", "message": str(e)})
    except Exception as e:  # reported to the learner as a sentence; the app keeps serving
        emit({"kind": "error", "message": f"Training failed: {type(e).__name__}: {e}"})


class _Thread:
    """Hosts a run in a thread of this process (ZeroGPU: the GPU belongs to this process)."""

    def __init__(self, spec: dict, events: queue.Queue):
        self.pid = os.getpid()
        stop = Path(spec.pop("stop"))
        kwargs = {**spec, "should_stop": stop.exists, "emit": events.put}
        self._th = threading.Thread(target=lambda: (yield_cpu_to_learners(), run_job(**kwargs)),
                                    name=f"train-{stop.stem}", daemon=True)
        self._th.start()

    def alive(self) -> bool:
        return self._th.is_alive()

    def wait(self, timeout: float) -> None:
        self._th.join(timeout)

    def end(self) -> str | None:
        self._th.join()
        return None


class _Process:
    """Hosts a run in a child process: its Python loop never holds the server's GIL, its memory
    goes back to the system when it ends, and a crash or kill of the run cannot take the app
    down. Events come back as JSON lines (no pickles)."""

    def __init__(self, spec: dict, events: queue.Queue):
        root = str(Path(__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        self._log = tempfile.TemporaryFile()
        self._p = subprocess.Popen([sys.executable, "-m", "cnn_demo.jobs"], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=self._log, env=env)
        self.pid = self._p.pid
        self._p.stdin.write(json.dumps({**spec, "cfg": asdict(spec["cfg"])}).encode())
        self._p.stdin.close()
        self._reader = threading.Thread(target=self._read, args=(events,), daemon=True)
        self._reader.start()

    def _read(self, events: queue.Queue) -> None:
        for line in self._p.stdout:
            try:
                events.put(json.loads(line))
            except ValueError:
                continue

    def alive(self) -> bool:
        return self._reader.is_alive()

    def wait(self, timeout: float) -> None:
        self._reader.join(timeout)

    def end(self, grace: float = 30.0) -> str | None:
        """Wait for the process; a sentence if it died without reporting."""
        try:
            code = self._p.wait(grace)
        except subprocess.TimeoutExpired:
            self._p.kill()
            code = self._p.wait()
        self._reader.join()
        self._log.seek(0)
        tail = self._log.read()[-2000:].decode("utf-8", "replace").strip()
        self._log.close()
        if code == 0:
            return None
        if tail:
            print(f"training process {self.pid} exited with {code}:\n{tail}", file=sys.stderr)
        how = f"was killed (signal {-code})" if code < 0 else f"exited with code {code}"
        return f"The training process {how} before it finished; checkpoints saved before are unaffected."


def _child_main() -> None:
    """`python -m cnn_demo.jobs`: one run, its spec as JSON on stdin, events as JSON lines on
    stdout (anything else a library prints goes to stderr)."""
    yield_cpu_to_learners(whole_process=True)
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    spec = json.loads(sys.stdin.read())
    spec["cfg"] = TrainConfig(**spec["cfg"])
    stop, parent = Path(spec.pop("stop")), os.getppid()

    def emit(ev: dict) -> None:
        out.write(json.dumps({k: v.tolist() if hasattr(v, "tolist") else v for k, v in ev.items()}) + "\n")
        out.flush()
    # stop on request, or when the app that asked for the run is gone
    run_job(**spec, should_stop=lambda: os.getppid() != parent or stop.exists(), emit=emit)


def train_stream(cfg: TrainConfig, name: str, out_dir: str, job_id: str, data_dir: str | None = None,
                 device: str | None = None, threads: int | None = None, interval: float = 0.5,
                 isolate: bool = True):
    """Yield {"kind": "progress", ...} records while training, then {"kind": "done", ...} (or
    {"kind": "error", "message": ...}). Every eval carries the first-layer filters. With
    `isolate` the run is a child process (see _Process); otherwise a thread of this one."""
    try:
        cfg.check()
        checkpoints.check_name(name)
        if (Path(out_dir) / name).exists():
            raise checkpoints.CheckpointError(f"A checkpoint named {name!r} already exists; choose another name.")
        if cfg.train_size > MAX_TRAIN_SIZE:
            raise ValueError(f"The training set has {MAX_TRAIN_SIZE:,} images; ask for at most that many.")
    except ValueError as e:
        yield {"kind": "error", "message": str(e)}
        return
    device = device or default_device()
    events: queue.Queue = queue.Queue()
    stop = stop_file(job_id)
    spec = {"cfg": cfg, "name": name, "out_dir": str(Path(out_dir).resolve()), "device": device,
            "data_dir": str(Path(data_dir).resolve()) if data_dir else None, "threads": threads, "stop": str(stop)}
    t0 = time.perf_counter()
    try:
        host = (_Process if isolate else _Thread)(spec, events)
    except (OSError, RuntimeError) as e:  # no process or thread to be had: out of resources
        yield {"kind": "error", "message": f"Could not start the training run ({type(e).__name__}: {e})."}
        return
    outcome: dict = {}
    losses: list = []
    evals: list = []
    snaps: list = []
    last_step = {"step": 0, "total_steps": 0}
    try:
        while host.alive() or not events.empty():
            host.wait(interval)
            changed = False
            while True:
                try:
                    ev = events.get_nowait()
                except queue.Empty:
                    break
                if ev["kind"] in ("done", "error"):
                    outcome = ev
                    continue
                changed = True
                if ev["kind"] == "step":
                    last_step = ev
                    losses.append((ev["step"], ev["loss"]))
                elif ev["kind"] in ("eval", "init"):
                    snaps.append((ev["step"], np.asarray(ev["filters"], dtype=np.float32)))
                    if ev["kind"] == "eval":
                        evals.append({k: ev[k] for k in ("epoch", "step", "train_loss", "train_accuracy",
                                                          "test_accuracy", "train_seconds")})
                    last_step = {**last_step, "total_steps": ev["total_steps"]}
            if changed:
                yield {"kind": "progress", "step": last_step.get("step", 0),
                       "total_steps": last_step.get("total_steps", 0), "elapsed": time.perf_counter() - t0,
                       "train_seconds": last_step.get("train_seconds", 0.0), "losses": list(losses),
                       "evals": list(evals), "snapshots": list(snaps), "config": asdict(cfg), "device": device,
                       "pid": host.pid}
    finally:
        if host.alive():  # the consumer went away (closed tab, cancelled): stop the run cleanly
            request_stop(job_id)
        died = host.end()
        stop.unlink(missing_ok=True)
    yield outcome or {"kind": "error", "message": died or "Training ended without a result."}


def eta_seconds(step: int, total: int, train_seconds: float, elapsed: float) -> float | None:
    """Remaining time from the observed pace (wall time per step, evaluations included)."""
    if step < 5 or total <= 0:
        return None
    return max(0.0, (total - step) * elapsed / step)


def smooth(values: list, window: int = 20) -> np.ndarray:
    v = np.asarray(values, float)
    if len(v) < window:
        return v
    k = np.ones(window) / window
    return np.convolve(np.pad(v, (window - 1, 0), mode="edge"), k, mode="valid")


__all__ = ["train_stream", "request_stop", "eta_seconds", "estimate_seconds", "smooth"]


if __name__ == "__main__":
    _child_main()
