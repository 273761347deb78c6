"""A training stream's records → what the Train tab shows: a progress bar with an
estimate, the curves as tables for native plots, and first-layer filter snapshots."""
from __future__ import annotations

import html

import numpy as np
import pandas as pd

from . import common

MAX_POINTS = 300


def eta_seconds(step: int, total: int, train_seconds: float, elapsed: float) -> float | None:
    """Remaining time from the observed pace (wall time per step, evaluations included)."""
    if step < 5 or total <= 0:
        return None
    return max(0.0, (total - step) * elapsed / step)


def smooth(values: list, window: int = 20) -> np.ndarray:
    """A trailing moving average: a per-step loss is too noisy to read."""
    v = np.asarray(values, float)
    if len(v) < window:
        return v
    k = np.ones(window) / window
    return np.convolve(np.pad(v, (window - 1, 0), mode="edge"), k, mode="valid")


def _fmt_s(s: float | None) -> str:
    if s is None:
        return "estimating…"
    s = int(round(s))
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"


def progress_html(rec: dict) -> str:
    step, total = rec["step"], max(rec["total_steps"], 1)
    eta = eta_seconds(step, total, rec["train_seconds"], rec["elapsed"])
    evals = rec["evals"]
    last = (f" · test accuracy {evals[-1]['test_accuracy']:.2%} after epoch {evals[-1]['epoch']:.2f}"
            if evals else "")
    return (f'<div class="cx-progress"><progress value="{step}" max="{total}"></progress>'
            f"<div>step {step:,} of {total:,} · {_fmt_s(rec['elapsed'])} so far · about {_fmt_s(eta)} left "
            f"({html.escape(rec['device'])}){last}</div></div>")


LOSS_SERIES = ("training loss (smoothed)", "training loss (epoch average)")
ACCURACY_SERIES = ("training accuracy", "test accuracy")


def _every_series(df: pd.DataFrame, y: str, names: tuple) -> pd.DataFrame:
    """Gradio's line plot fixes its set of series from the first frame it draws and never
    draws a series that was absent then, so every frame names all of them: a series with
    no points yet gets one empty (NaN) row."""
    missing = [n for n in names if n not in set(df["series"])]
    if not missing:
        return df
    pad = pd.DataFrame({"step": [np.nan] * len(missing), y: [np.nan] * len(missing), "series": missing})
    return pd.concat([df, pad], ignore_index=True)


def loss_frame(rec: dict) -> pd.DataFrame | None:
    """None until there is a point to draw (an empty first frame would break the plot)."""
    if not rec["losses"]:
        return None
    steps, losses = map(np.asarray, zip(*rec["losses"]))
    sm = smooth(losses)
    idx = np.unique(np.linspace(0, len(steps) - 1, min(len(steps), MAX_POINTS)).round().astype(int))
    df = pd.DataFrame({"step": steps[idx], "value": sm[idx], "series": LOSS_SERIES[0]})
    if rec["evals"]:
        ev = pd.DataFrame(rec["evals"])
        df = pd.concat([df, pd.DataFrame({"step": ev["step"], "value": ev["train_loss"],
                                          "series": LOSS_SERIES[1]})], ignore_index=True)
    return _every_series(df, "value", LOSS_SERIES)


def accuracy_frame(rec: dict) -> pd.DataFrame | None:
    """None until the first evaluation."""
    if not rec["evals"]:
        return None
    ev = pd.DataFrame(rec["evals"])
    return pd.concat([
        pd.DataFrame({"step": ev["step"], "accuracy": ev["train_accuracy"], "series": ACCURACY_SERIES[0]}),
        pd.DataFrame({"step": ev["step"], "accuracy": ev["test_accuracy"], "series": ACCURACY_SERIES[1]}),
    ], ignore_index=True)


def snapshot_html(snapshots: list, index: int) -> str:
    """First-layer filters at one snapshot (step 0 is the random start)."""
    if not snapshots:
        return ""
    index = int(np.clip(index, 0, len(snapshots) - 1))
    step, w = snapshots[index]
    title = "at the start (random)" if step == 0 else f"after step {step:,}"
    return (f'<p class="cx-sub">First-layer filters {title} — snapshot {index + 1} of {len(snapshots)}. '
            "Each shown on its own scale at every snapshot, so the pattern stays visible as weights grow.</p>"
            + common.filters_html({"first conv layer": w}, max_width=720))


def done_markdown(out: dict) -> str:
    if out["kind"] == "error":
        return f"⚠️ {common.md_text(out['message'])}"
    if out.get("time_limit"):
        how = f"stopped at the app's {_fmt_s(out['time_limit'])} limit; kept the best weights so far"
    else:
        how = "stopped early; kept the best weights so far" if out["stopped"] else "finished"
    t = out["train_seconds"]
    took = f"{t:.1f} s" if t < 10 else _fmt_s(t)
    return (f"✅ Training {how}: **{common.md_text(out['checkpoint'])}** reaches **{out['test_accuracy']:.2%}** "
            f"on the 10,000 MNIST test digits ({took} of training). It is saved and now in the Draw tab's model list.")


