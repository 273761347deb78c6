"""One way to time a view for every benchmark: a warm-up call, then the median and the max."""
from __future__ import annotations

import statistics
import time


def timed(fn, repeats: int) -> tuple[float, float]:
    """(median ms, max ms) of `repeats` calls after one warm-up call."""
    fn()
    t = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        t.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(t), max(t)
