"""Requests that arrive together are served together: a micro-batcher in front of the
models. Each request keeps its own thread (and its own errors); a worker gathers the
images waiting at that moment — up to `max_batch`, waiting at most `max_wait` seconds for
more — and runs one forward pass per model for all of them.

The app waits for nothing (`max_wait=0`): a lone learner's drawing goes straight through
(a 2 ms wait was 40 % of a drawing's server time), and under load the requests that arrive
while one pass runs form the next batch by themselves.
"""
from __future__ import annotations

import os
import queue
import threading
import time
from concurrent.futures import Future

import torch

from .probe import probe_all


class MicroBatcher:
    def __init__(self, max_batch: int = 32, max_wait: float = 0.0):
        self.max_batch, self.max_wait = max_batch, max_wait
        self._q: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="micro-batcher", daemon=True)
        self._thread.start()
        self.batches = 0
        self.items = 0

    def probe(self, model, x: torch.Tensor):
        """Stages and probabilities of one image (1, 1, 28, 28), computed in a shared batch."""
        fut: Future = Future()
        self._q.put((model, x, fut))
        return fut.result()

    def _loop(self):
        while True:
            items = [self._q.get()]
            deadline = time.perf_counter() + self.max_wait
            while len(items) < self.max_batch:
                left = deadline - time.perf_counter()
                try:
                    items.append(self._q.get(timeout=left) if left > 0 else self._q.get_nowait())
                except queue.Empty:
                    break
            groups: dict[int, list] = {}
            for it in items:
                groups.setdefault(id(it[0]), []).append(it)
            for group in groups.values():
                model = group[0][0]
                try:
                    stages, probs = probe_all(model, torch.cat([g[1] for g in group]))
                except Exception as e:  # every waiting request learns of it
                    for g in group:
                        g[2].set_exception(e)
                    continue
                for i, g in enumerate(group):
                    g[2].set_result((stages[i], probs[i:i + 1]))
            self.batches += 1
            self.items += len(items)


_shared: MicroBatcher | None = None
_lock = threading.Lock()


def shared() -> MicroBatcher | None:
    """The app's batcher, or None when CNN_DEMO_BATCH=0 (each request runs its own pass)."""
    global _shared
    if os.environ.get("CNN_DEMO_BATCH", "1") == "0":
        return None
    with _lock:
        if _shared is None:
            _shared = MicroBatcher()
        return _shared
