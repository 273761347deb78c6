"""A training stream's records → what the Train tab shows: a progress bar with an
estimate, the curves as tables for native plots, and first-layer filter snapshots."""
from __future__ import annotations

import html

import numpy as np
import pandas as pd

from . import common
from ..checkpoints import BARELY_TRAINED

MAX_POINTS = 300


def eta_seconds(rec: dict) -> float | None:
    """Seconds of training left, or None while there is too little to go on. Training steps and
    test evaluations are timed apart: the steps at their own measured pace, and each evaluation
    still to come at the mean time the done ones took (what the run spent outside its steps
    since it started, over the evaluations done). Needs the run's start and one evaluation."""
    step, total, started = rec["step"], rec["total_steps"], rec.get("started")
    done = len(rec["evals"])
    if started is None or step < 5 or step >= total or done < 1:
        return None
    per_eval = max(0.0, rec["elapsed"] - started - rec["train_seconds"]) / done
    left = (total - step) * rec["train_seconds"] / step + max(0, rec.get("evals_planned", done) - done) * per_eval
    return max(0.0, left)


def smooth(values: list, window: int = 20) -> np.ndarray:
    """A trailing moving average: a per-step loss is too noisy to read."""
    v = np.asarray(values, float)
    if len(v) < window:
        return v
    k = np.ones(window) / window
    return np.convolve(np.pad(v, (window - 1, 0), mode="edge"), k, mode="valid")


def _fmt_s(s: float) -> str:
    """Seconds as a learner reads them: 0.68 s, 9.7 s, 42 s, 2 min 05 s."""
    if s < 1:
        return f"{s:.2f} s"
    if s < 10:
        return f"{s:.1f} s"
    s = int(round(s))
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"


def _evaluations(n: int) -> str:
    return f"{n} test evaluation{'s' if n != 1 else ''}"


def progress_html(rec: dict) -> str:
    """Where a run is: its steps, the time it has taken and how much of it went on computing
    training steps (the rest: starting, reading MNIST, testing, snapshots), and — once there is
    enough to go on — a number of seconds left; never a word standing in for a number."""
    step, total = rec["step"], max(rec["total_steps"], 1)
    eta = eta_seconds(rec)
    evals = rec["evals"]
    rest = f"starting up, reading MNIST, {_evaluations(len(evals))} of 10,000 digits, filter snapshots" if evals \
        else "starting up and reading MNIST"
    spent = f"{_fmt_s(rec['elapsed'])} so far, {_fmt_s(rec['train_seconds'])} of it computing training steps (the rest: {rest})"
    left = f" · about {_fmt_s(eta)} of training left" if eta is not None else ""
    last = (f" · test accuracy {evals[-1]['test_accuracy']:.2%} after epoch {evals[-1]['epoch']:.2f}"
            if evals else "")
    return (f'<div class="cx-progress"><progress value="{step}" max="{total}"></progress>'
            f"<div>step {step:,} of {total:,} · {spent}{left} · on {html.escape(rec['device'])}{last}</div></div>")


# the evaluations' training loss and accuracy are running means over the epoch's batches so far
LOSS_SERIES = ("training, smoothed", "training, this epoch so far")
ACCURACY_SERIES = ("training (this epoch so far)", "test (10,000 digits)")
LOSS, ACCURACY = "loss", "accuracy"  # the plots' y columns: their axes' titles


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
    df = pd.DataFrame({"step": steps[idx], LOSS: sm[idx], "series": LOSS_SERIES[0]})
    if rec["evals"]:
        ev = pd.DataFrame(rec["evals"])
        df = pd.concat([df, pd.DataFrame({"step": ev["step"], LOSS: ev["train_loss"],
                                          "series": LOSS_SERIES[1]})], ignore_index=True)
    return _every_series(df, LOSS, LOSS_SERIES)


def accuracy_frame(rec: dict) -> pd.DataFrame | None:
    """None until the first evaluation."""
    if not rec["evals"]:
        return None
    ev = pd.DataFrame(rec["evals"])
    return pd.concat([
        pd.DataFrame({"step": ev["step"], ACCURACY: ev["train_accuracy"], "series": ACCURACY_SERIES[0]}),
        pd.DataFrame({"step": ev["step"], ACCURACY: ev["test_accuracy"], "series": ACCURACY_SERIES[1]}),
    ], ignore_index=True)


def moved(start: np.ndarray, now: np.ndarray) -> float:
    """How far the filters are from where they started, as a fraction of their starting size:
    ‖W − W₀‖ / ‖W₀‖ over all of them together."""
    size = float(np.linalg.norm(start))
    return float(np.linalg.norm(np.asarray(now, np.float64) - start)) / size if size else 0.0


def snapshot_html(snapshots: list, index: int) -> str:
    """First-layer filters at one snapshot (step 0 is the random start), with what the picture
    cannot show by itself: how far they have moved from their random start, measured."""
    if not snapshots:
        return ""
    index = int(np.clip(index, 0, len(snapshots) - 1))
    step, w = snapshots[index]
    w0 = np.asarray(snapshots[0][1], np.float64)
    n = len(snapshots)
    if step == 0:
        what = (f"at the start: random numbers, PyTorch's initial weights — snapshot {index + 1} of {n}. "
                "Drag the slider to compare the later ones with it.")
    else:
        what = (f"after step {step:,} — snapshot {index + 1} of {n}. They have moved "
                f"{moved(w0, w):.0%} of their starting size away from their random start (‖W − W₀‖ / ‖W₀‖, all "
                f"{len(w)} together).")
    return (f'<p class="cx-sub cx-snap">First-layer filters {what} Each snapshot is drawn on its own colour scale, '
            "so a pattern shows however small the weights are; the weights' range is under each picture.</p>"
            + common.filters_html({"first conv layer": w}, max_width=720))


def _share(acc: float) -> str:
    """The test digits a network misreads, as a learner counts them."""
    wrong = 1 - acc
    return f"about {round(wrong * 100)} of every 100" if wrong >= 0.02 else f"about {round(wrong * 1000)} of every 1,000"


def done_markdown(out: dict, reference: tuple | None = None) -> str:
    """The end of a run: what it reads, how long it took and what that time went on, and how it
    compares with the bundled checkpoint of its architecture (`reference`: (name, its meta)) —
    a plain warning when it is barely trained, before the learner meets its answers."""
    if out["kind"] == "error":
        return f"⚠️ {common.md_text(out['message'])}"
    if out.get("time_limit"):
        lim = out["time_limit"]
        how = (f"stopped at the app's {int(lim) if lim == int(lim) else lim} s limit" if lim < 60 else
               f"stopped at the app's {_fmt_s(lim)} limit") + "; kept the best weights so far"
    else:
        how = "stopped early; kept the best weights so far" if out["stopped"] else "finished"
    acc = float(out["test_accuracy"])
    msg = (f"✅ Training {how}: **{common.md_text(out['checkpoint'])}** reads **{acc:.2%}** of the 10,000 MNIST "
           "test digits right.")
    t = out["train_seconds"]
    if out.get("elapsed") is not None:
        steps = f"its {out['steps']:,} training steps" if out.get("steps") else "its training steps"
        evals = f"{_evaluations(out['evals'])}, " if out.get("evals") else "test evaluations, "
        msg += (f" The run took {_fmt_s(out['elapsed'])}, {_fmt_s(t)} of it computing {steps}; the rest went on "
                f"starting up, reading MNIST, {evals}the filter snapshots and saving.")
    else:
        msg += f" It spent {_fmt_s(t)} computing its training steps."
    msg += " It is saved and now in the Draw tab's model list"
    ref = _reference(reference)
    if acc < BARELY_TRAINED:
        msg += (f", marked “barely trained”.\n\n⚠️ **Barely trained:** it misreads {_share(acc)} test digits"
                + (f"; {ref}" if ref else "") + ". Expect many wrong answers on the Draw tab; more training images "
                "or more epochs train it further.")
    else:
        msg += "." + (f" For comparison, {ref}." if ref else "")
    return msg


def _reference(reference: tuple | None) -> str:
    """"the bundled lenet5 misreads about 6 of every 1,000 (99.42%, after 20 epochs of all 60,000
    digits, augmented)", from its own meta; "" when it does not say its accuracy."""
    if not reference:
        return ""
    name, meta = reference
    acc = meta.get("test_accuracy")
    if not isinstance(acc, float):
        return ""
    cfg = meta.get("train_config") or {}
    how = ""
    if isinstance(cfg.get("epochs"), int):
        size = cfg.get("train_size") or 60000
        how = (f", after {cfg['epochs']} epoch{'s' if cfg['epochs'] != 1 else ''} of "
               f"{'all 60,000' if size >= 60000 else f'{size:,}'} digits{', augmented' if cfg.get('augment') else ''}")
    return f"the bundled {common.md_text(name)} misreads {_share(acc)} ({acc:.2%}{how})"
