"""A training run as a stream of plain progress records, for the Train tab and /train.

The run happens in a child process at low priority (in a thread on ZeroGPU, where the GPU
belongs to the app's process); the stream yields what changed about twice a second (plain
Python and numpy only, so it can cross a process boundary, as on ZeroGPU) and ends with the
saved checkpoint. A stop request is a file named by the run's id, which the server makes
(never a visitor), so it reaches the run wherever it executes.

A run is bounded like every other request: its size by `limits.check_training`, its time by
`MAX_TRAIN_SECONDS` (it then stops, keeping the best weights so far), its event volume by
reporting steps at most `STEP_EVENTS_PER_SECOND` times a second and keeping at most
`MAX_LOSS_POINTS` loss points. One run trains at a time; `RunQueue` holds a few more and
refuses the rest with a sentence.
"""
from __future__ import annotations

import json
import os
import queue
import re
import secrets
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
from .limits import MAX_LOSS_POINTS, MAX_TRAIN_SECONDS, MAX_WAITING_RUNS, STEP_EVENTS_PER_SECOND, LimitError
from .devices import default_device
from .train import TrainConfig, train

STOP_DIR = Path(tempfile.gettempdir()) / "cnn_demo_stop"
JOB_ID = re.compile(r"^[0-9a-f]{16}$")


def new_job_id() -> str:
    """A run's id: made here, unguessable, and safe in a file name."""
    return secrets.token_hex(8)


def stop_file(job_id: str) -> Path:
    if not isinstance(job_id, str) or not JOB_ID.match(job_id):
        raise ValueError("Not a training run's id.")
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


class StepBatcher:
    """Passes events on, but a run's steps (hundreds a second with small batches) in bundles,
    at most `rate` a second: {"kind": "steps", "points": [[step, loss], ...], ...}."""

    def __init__(self, emit, rate: float = STEP_EVENTS_PER_SECOND):
        self.emit, self.gap = emit, 1.0 / rate
        self.points: list = []
        self.last: dict | None = None
        self.sent = 0.0

    def __call__(self, ev: dict) -> None:
        if ev["kind"] != "step":
            self.flush()
            self.emit(ev)
            return
        self.points.append([ev["step"], ev["loss"]])
        self.last = ev
        if time.monotonic() - self.sent >= self.gap:
            self.flush()

    def flush(self) -> None:
        if self.points:
            self.emit({"kind": "steps", "points": self.points, "step": self.last["step"],
                       "total_steps": self.last["total_steps"], "train_seconds": self.last["train_seconds"]})
            self.points = []
            self.sent = time.monotonic()


class Curve:
    """A loss curve of at most `cap` points: when full, every other point goes and from then on
    only every other new point is kept (and so on), so a long run is thinned evenly."""

    def __init__(self, cap: int = MAX_LOSS_POINTS):
        self.cap, self.stride, self.points, self._seen = cap, 1, [], 0

    def add(self, points) -> None:
        for p in points:
            if self._seen % self.stride == 0:
                self.points.append(tuple(p))
            self._seen += 1
            if len(self.points) > self.cap:
                self.points = self.points[::2]
                self.stride *= 2


def run_job(cfg: TrainConfig, name: str, out_dir: str, data_dir: str | None, device: str,
            threads: int | None, should_stop, emit, max_seconds: float = MAX_TRAIN_SECONDS) -> None:
    """The run itself, wherever it is hosted: train, save, precompute the dataset views. Emits
    every training event (steps in bundles), then exactly one {"kind": "done"} or {"kind":
    "error"}. After `max_seconds` the run stops as if asked to, keeping the best weights."""
    if threads:
        torch.set_num_threads(threads)
    deadline = time.monotonic() + max_seconds
    over_time = []

    def stop() -> bool:
        if time.monotonic() > deadline:
            over_time.append(True)
            return True
        return should_stop()
    steps = StepBatcher(emit)
    try:
        data = cached(data_dir)
        res = train(cfg, data, device, on_event=steps, should_stop=stop,
                    evals_per_epoch=evals_per_epoch(cfg.epochs))
        steps.flush()
        test_x, test_y = data.raw("test"), data.labels("test")

        def with_insights(folder):  # the dataset views, while the test set is at hand (~1 s)
            insights.save(insights.compute(res.model, test_x, test_y), folder)
        path = checkpoints.save_new(res.model, out_dir, name, res.meta(), extra=with_insights)
        emit({"kind": "done", "checkpoint": name, "path": str(path), "test_accuracy": res.test_accuracy,
              "stopped": res.stopped, "time_limit": max_seconds if over_time else None,
              "train_seconds": res.train_seconds, "steps": res.history[-1]["step"] if res.history else 0,
              "evals": len(res.history)})
    except DataError as e:
        emit({"kind": "error", "message": str(e)})
    except OSError as e:
        emit({"kind": "error", "message": f"The run's checkpoint could not be saved ({e.strerror or e}); "
                                          "nothing was written."})
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
        # a run's process is a plain CPU or CUDA process, never one `spaces` would patch (ZeroGPU)
        env = {k: v for k, v in os.environ.items() if k != "SPACES_ZERO_GPU"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
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
    spec["cfg"] = TrainConfig.make(**spec["cfg"])
    stop, parent = Path(spec.pop("stop")), os.getppid()

    def emit(ev: dict) -> None:
        out.write(json.dumps({k: v.tolist() if hasattr(v, "tolist") else v for k, v in ev.items()}) + "\n")
        out.flush()
    # stop on request, or when the app that asked for the run is gone
    run_job(**spec, should_stop=lambda: os.getppid() != parent or stop.exists(), emit=emit)


def train_stream(cfg: TrainConfig, name: str, out_dir: str, job_id: str, data_dir: str | None = None,
                 device: str | None = None, threads: int | None = None, interval: float = 0.5,
                 isolate: bool = True, max_seconds: float = MAX_TRAIN_SECONDS):
    """Yield {"kind": "progress", ...} records while training, then {"kind": "done", ...} (or
    {"kind": "error", "message": ...}). Every eval carries the first-layer filters. With
    `isolate` the run is a child process (see _Process); otherwise a thread of this one."""
    try:
        cfg = TrainConfig.make(**asdict(cfg))  # bounded like every run the app hosts
        checkpoints.check_name(name)
        stop = stop_file(job_id)
        if (Path(out_dir) / name).exists():
            raise checkpoints.CheckpointError(f"A checkpoint named {name!r} already exists; choose another name.")
    except ValueError as e:
        yield {"kind": "error", "message": str(e)}
        return
    device = device or default_device()
    events: queue.Queue = queue.Queue()
    spec = {"cfg": cfg, "name": name, "out_dir": str(Path(out_dir).resolve()), "device": device,
            "data_dir": str(Path(data_dir).resolve()) if data_dir else None, "threads": threads, "stop": str(stop),
            "max_seconds": max_seconds}
    t0 = time.perf_counter()
    try:
        host = (_Process if isolate else _Thread)(spec, events)
    except (OSError, RuntimeError) as e:  # no process or thread to be had: out of resources
        yield {"kind": "error", "message": f"Could not start the training run ({type(e).__name__}: {e})."}
        return
    outcome: dict = {}
    losses = Curve()
    evals: list = []
    snaps: list = []
    last_step = {"step": 0, "total_steps": 0}
    started = None  # seconds from the start until the run had MNIST and its network (its "init" event)
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
                if ev["kind"] == "steps":
                    last_step = ev
                    losses.add(ev["points"])
                elif ev["kind"] in ("eval", "init"):
                    if ev["kind"] == "init":
                        started = time.perf_counter() - t0
                    snaps.append((ev["step"], np.asarray(ev["filters"], dtype=np.float32)))
                    if ev["kind"] == "eval":
                        evals.append({k: ev[k] for k in ("epoch", "step", "train_loss", "train_accuracy",
                                                          "test_accuracy", "train_seconds")})
                    last_step = {**last_step, "total_steps": ev["total_steps"]}
            if changed:
                yield {"kind": "progress", "step": last_step.get("step", 0),
                       "total_steps": last_step.get("total_steps", 0), "elapsed": time.perf_counter() - t0,
                       "train_seconds": last_step.get("train_seconds", 0.0), "losses": list(losses.points),
                       "evals": list(evals), "snapshots": list(snaps), "config": asdict(cfg), "device": device,
                       "pid": host.pid, "job": job_id, "started": started,
                       "evals_planned": cfg.epochs * evals_per_epoch(cfg.epochs)}
    finally:
        if host.alive():
            # The consumer went away mid-run (a closed tab, a cancelled call): stop the run, and
            # wait for it elsewhere — Gradio closes a generator on its event loop, so waiting
            # here would freeze every visitor until the run had stopped.
            request_stop(job_id)
            threading.Thread(target=_wind_down, args=(host, stop), name=f"end-{job_id}", daemon=True).start()
            return
        died = host.end()
        stop.unlink(missing_ok=True)
    if outcome.get("kind") == "done":
        outcome["elapsed"] = time.perf_counter() - t0  # the whole run, as the learner waited for it
    yield outcome or {"kind": "error", "message": died or "Training ended without a result."}


def _wind_down(host, stop: Path) -> None:
    host.end()
    stop.unlink(missing_ok=True)


class RunQueue:
    """One run trains at a time and at most `waiting` wait for it; the next one is refused at
    once with a sentence, so a flood of requests cannot build a line nobody reaches the end of.
    Runs wait in arrival order; a waiting run that leaves frees its place."""

    def __init__(self, waiting: int = MAX_WAITING_RUNS):
        self.waiting = waiting
        self._line: list[str] = []  # job ids; the first one trains
        self._cond = threading.Condition()

    def join(self, job_id: str) -> None:
        with self._cond:
            if len(self._line) > self.waiting:
                raise LimitError(f"One run trains at a time and {len(self._line) - 1} are already waiting "
                                 f"(the most the app holds is {self.waiting}): try again in a few minutes.")
            self._line.append(job_id)

    def position(self, job_id: str) -> int:
        """0: training (its turn); n: n runs ahead of it."""
        with self._cond:
            return self._line.index(job_id) if job_id in self._line else -1

    def wait(self, job_id: str, timeout: float) -> bool:
        """Whether it is this run's turn, waiting up to `timeout` seconds for it."""
        with self._cond:
            return self._cond.wait_for(lambda: self._line[:1] == [job_id], timeout)

    def leave(self, job_id: str) -> None:
        with self._cond:
            if job_id in self._line:
                self._line.remove(job_id)
                self._cond.notify_all()

    def __contains__(self, job_id: str) -> bool:
        with self._cond:
            return job_id in self._line


__all__ = ["train_stream", "request_stop", "new_job_id", "RunQueue"]


if __name__ == "__main__":
    _child_main()
