"""A training run as a stream of plain progress records, for the Train tab and /train.

The run happens in a worker thread; the stream yields what changed about twice a second
(plain Python and numpy only, so it can cross a process boundary, as on ZeroGPU) and
ends with the saved checkpoint. A stop request is a file, so it reaches the run wherever
the run executes.
"""
from __future__ import annotations

import queue
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


def evals_per_epoch(epochs: int) -> int:
    """About a dozen test-accuracy points per run, whatever its length."""
    return max(1, min(8, round(12 / max(epochs, 1))))


def estimate_seconds(cfg: TrainConfig, device: str | None = None) -> float:
    """A rough upper bound on a run's length (for ZeroGPU's time budget)."""
    n = min(cfg.train_size or MAX_TRAIN_SIZE, MAX_TRAIN_SIZE)
    per_image = 2e-6 if (device or default_device()).startswith("cuda") else 6e-5
    return 20 + cfg.epochs * (n * per_image + evals_per_epoch(cfg.epochs) * 0.5)


def train_stream(cfg: TrainConfig, name: str, out_dir: str, job_id: str, data_dir: str | None = None,
                 device: str | None = None, threads: int | None = None, interval: float = 0.5):
    """Yield {"kind": "progress", ...} records while training, then {"kind": "done", ...} (or
    {"kind": "error", "message": ...}). Every eval carries the first-layer filters."""
    try:
        cfg.check()
        checkpoints.check_name(name)
        if (Path(out_dir) / name).exists():
            raise checkpoints.CheckpointError(f"A checkpoint named {name!r} already exists; choose another name.")
        if cfg.train_size > MAX_TRAIN_SIZE:
            raise ValueError(f"The training set has {MAX_TRAIN_SIZE:,} images; ask for at most that many.")
        data = cached(data_dir)
    except (ValueError, DataError) as e:
        yield {"kind": "error", "message": str(e)}
        return
    device = device or default_device()
    events: queue.Queue = queue.Queue()
    stop = stop_file(job_id)
    outcome: dict = {}

    def worker():
        if threads:
            torch.set_num_threads(threads)
        try:
            res = train(cfg, data, device, on_event=events.put, should_stop=stop.exists,
                        evals_per_epoch=evals_per_epoch(cfg.epochs))
            path = checkpoints.save_new(res.model, out_dir, name, res.meta())
            # the dataset views of the new checkpoint, while the test set is at hand (~1 s)
            insights.save(insights.compute(res.model, data.raw("test"), data.labels("test")), path)
            outcome.update(kind="done", checkpoint=name, path=str(path), test_accuracy=res.test_accuracy,
                           stopped=res.stopped, train_seconds=res.train_seconds)
        except Exception as e:  # reported to the learner as a sentence; the app keeps serving
            outcome.update(kind="error", message=f"Training failed: {type(e).__name__}: {e}")

    t0 = time.perf_counter()
    th = threading.Thread(target=worker, name=f"train-{job_id}", daemon=True)
    th.start()
    losses: list = []
    evals: list = []
    snaps: list = []
    last_step = {"step": 0, "total_steps": 0}
    try:
        while th.is_alive() or not events.empty():
            th.join(interval)
            changed = False
            while True:
                try:
                    ev = events.get_nowait()
                except queue.Empty:
                    break
                changed = True
                if ev["kind"] == "step":
                    last_step = ev
                    losses.append((ev["step"], ev["loss"]))
                elif ev["kind"] in ("eval", "init"):
                    snaps.append((ev["step"], ev["filters"].numpy()))
                    if ev["kind"] == "eval":
                        evals.append({k: ev[k] for k in ("epoch", "step", "train_loss", "train_accuracy",
                                                          "test_accuracy", "train_seconds")})
                    last_step = {**last_step, "total_steps": ev["total_steps"]}
            if changed:
                yield {"kind": "progress", "step": last_step.get("step", 0),
                       "total_steps": last_step.get("total_steps", 0), "elapsed": time.perf_counter() - t0,
                       "train_seconds": last_step.get("train_seconds", 0.0), "losses": list(losses),
                       "evals": list(evals), "snapshots": list(snaps), "config": asdict(cfg), "device": device}
    finally:
        if th.is_alive():  # the consumer went away (closed tab, cancelled): stop the run cleanly
            request_stop(job_id)
            th.join()
        stop.unlink(missing_ok=True)
    yield outcome or {"kind": "error", "message": "Training ended without a result."}


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
