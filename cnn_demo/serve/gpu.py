"""Where a training run computes, on every kind of Space and server.

- **ZeroGPU** (the free GPU Spaces; `spaces` in ZeroGPU mode): a run is a `@spaces.GPU` task.
  It declares the seconds `gpu_seconds` estimates from its request, trains in the worker that
  `spaces` forks (the only place CUDA is real there) and stops itself before those seconds are
  up, keeping its best weights. When no GPU can be had — the visitor's daily quota spent, none
  free in time, the worker failing — the learner is told why in the app's own words and the run
  trains on the CPU instead.
- **A dedicated GPU** (CUDA in the app's own process): the run is a child process on CUDA.
- **A CPU**: a child process at low priority that leaves a core to the learners drawing.

Nothing else goes to a GPU: a stroke, the Why tab's knock-outs and a Hub load take a fraction of
a second to a few seconds on the CPU, while a ZeroGPU task waits for a GPU to be attached and
spends the visitor's small daily quota (BENCHMARKS.md, "ZeroGPU").
"""
from __future__ import annotations

import math
import os
import sys
from typing import Iterator

import spaces

from ..devices import default_device
from ..jobs import evals_per_epoch, train_stream
from ..limits import training_steps
from ..train import TrainConfig

ZERO_GPU = bool(spaces.config.Config.zero_gpu)

# What a run holds a ZeroGPU card for (an H200 slice; BENCHMARKS.md, "ZeroGPU"): a cold worker
# (the fork, CUDA's start, MNIST onto the card) took 7.5 s for a whole 1-epoch run, a warm one
# 2.1 s for 2 epochs of 60,000 digits — launch-bound steps of a few milliseconds. The estimate
# takes a cold start and the saving whole, and the training half as long again.
WORKER_SECONDS = 4.0  # the fork and CUDA's start, before the run's own clock starts
START_SECONDS = 6.0  # MNIST onto the card and the first kernels loaded, on the run's clock
STEP_SECONDS = 0.004  # one training step of these small networks (at any batch size the app allows)
EVAL_SECONDS = 0.25  # one test-accuracy point (10,000 digits) with its filter snapshot
SAVE_SECONDS = 3.0  # the checkpoint and its dataset views
MARGIN = 1.5
MAX_GPU_SECONDS = 120  # the most a run asks of a visitor's quota (an anonymous visitor has ~2 minutes a day)


def gpu_seconds(cfg: TrainConfig, *args, **kwargs) -> int:
    """The duration a ZeroGPU run declares (`spaces` calls it with the task's arguments)."""
    steps = training_steps(cfg.epochs, cfg.batch_size, cfg.train_size)
    evals = cfg.epochs * evals_per_epoch(cfg.epochs)
    want = WORKER_SECONDS + START_SECONDS + MARGIN * (steps * STEP_SECONDS + evals * EVAL_SECONDS) + SAVE_SECONDS
    return min(MAX_GPU_SECONDS, math.ceil(want))


def run_seconds(cfg: TrainConfig) -> float:
    """The run's own time limit on ZeroGPU: what it declared, less the worker's start and the
    saving. At that limit it stops as if asked to, keeping its best weights, and saves them
    before ZeroGPU would take the GPU back."""
    return gpu_seconds(cfg) - WORKER_SECONDS - SAVE_SECONDS


@spaces.GPU(duration=gpu_seconds)
def _on_zero_gpu(cfg: TrainConfig, name: str, out_dir: str, job_id: str, data_dir: str | None):
    """The run inside ZeroGPU's worker: a thread of it (the worker holds the GPU), on CUDA."""
    yield from train_stream(cfg, name, out_dir, job_id, data_dir, device=default_device(), isolate=False,
                            max_seconds=run_seconds(cfg))


def cpu_threads() -> int:
    return max(1, (os.cpu_count() or 2) - 1)


def train_records(cfg: TrainConfig, name: str, out_dir: str, job_id: str, data_dir: str | None) -> Iterator[dict]:
    """A run's records (jobs.train_stream's) wherever it can train. On ZeroGPU a GPU that cannot
    be had becomes {"kind": "note", "message": why} and the run trains on the CPU. Whose quota
    pays is the visitor's whose request Gradio is serving (`spaces` reads its X-IP-Token header
    from Gradio's context, which Gradio sets for every step of a streaming handler)."""
    if not ZERO_GPU:
        device = default_device()
        yield from train_stream(cfg, name, out_dir, job_id, data_dir, device=device,
                                threads=None if device == "cuda" else cpu_threads())
        return
    last = None
    try:
        for last in _on_zero_gpu(cfg, name, out_dir, job_id, data_dir):
            yield last
        return
    except Exception as e:  # noqa: BLE001 — every way a GPU task fails ends in a sentence
        print(f"ZeroGPU: {type(e).__name__}: {getattr(e, 'title', '')} {getattr(e, 'message', e)}"[:300],
              file=sys.stderr)
        if last is not None and last["kind"] in ("done", "error"):
            return  # the run had ended (it said how): a failure on the way out changes nothing
        why = failure(e)
    again = "It starts again on the CPU" if last is not None else "It trains on the CPU instead"
    yield {"kind": "note", "message": f"{why} {again}: slower, and the same kind of network at the end."}
    yield from train_stream(cfg, name, out_dir, job_id, data_dir, device="cpu", threads=cpu_threads())


def failure(e: Exception) -> str:
    """Why a ZeroGPU task could not run, in the app's words (`spaces` raises gr.Error with a
    title, or RuntimeError)."""
    title = str(getattr(e, "title", "") or "").lower()
    message = str(getattr(e, "message", e))
    if "illegal duration" in title:
        return "This run would hold the GPU longer than one ZeroGPU task may."
    if "No GPU was available" in message or "queue timeout" in title:
        return "No GPU was free in time: every ZeroGPU card was busy."
    if "quota" in title or "credits" in title:
        return ("Your free GPU time on this Space is used up for now (ZeroGPU gives each visitor a few minutes "
                "a day; logging in to Hugging Face gives more).")
    if "aborted" in message:
        return "The GPU stopped this run before it ended (ZeroGPU aborted the task)."
    if "worker" in title:
        return f"The GPU could not be started for this run ({message})."
    return f"No GPU could be had for this run ({type(e).__name__})."
