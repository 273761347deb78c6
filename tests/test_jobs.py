"""The training stream behind the Train tab: progress, stop, atomic saving, failures."""
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from cnn_demo import checkpoints, jobs
from cnn_demo.models import build
from cnn_demo.train import TrainConfig

J1, J2, J3, J4, J5, J6 = (jobs.new_job_id() for _ in range(6))


def run(cfg, tmp_path, tiny_mnist_dir, name="job", job=J1, on_progress=None, isolate=True, **kw):
    recs = []
    for rec in jobs.train_stream(cfg, name, str(tmp_path), job, str(tiny_mnist_dir), interval=0.05,
                                 isolate=isolate, **kw):
        recs.append(rec)
        if on_progress and rec["kind"] == "progress":
            on_progress(rec)
    return recs


def test_stream_reports_progress_and_saves(tmp_path, tiny_mnist_dir):
    recs = run(TrainConfig(epochs=1, batch_size=128), tmp_path, tiny_mnist_dir)
    prog = [r for r in recs if r["kind"] == "progress"]
    assert prog and prog[-1]["step"] == prog[-1]["total_steps"] == 4
    assert prog[-1]["snapshots"][0][0] == 0 and prog[-1]["snapshots"][0][1].shape == (6, 1, 5, 5)  # the random start
    done = recs[-1]
    assert done["kind"] == "done" and not done["stopped"]
    assert checkpoints.load(done["path"]).meta["test_accuracy"] == round(done["test_accuracy"], 4)
    from cnn_demo import insights
    ins = insights.load(done["path"])  # the dataset views come with every new checkpoint
    assert ins is not None and ins.arrays["confusion"].sum() == 256


def test_stop_keeps_the_best_so_far(tmp_path, tiny_mnist_dir):
    stopped = []

    def stop_after_first(rec):
        if rec["step"] >= 2 and not stopped:
            jobs.request_stop(J2)
            stopped.append(rec["step"])
    recs = run(TrainConfig(epochs=5, batch_size=32, train_size=512), tmp_path, tiny_mnist_dir, job=J2, on_progress=stop_after_first)
    done = recs[-1]
    assert done["kind"] == "done" and done["stopped"]
    assert checkpoints.load(done["path"]).arch == "lenet5"
    assert not jobs.stop_file(J2).exists()


def test_names_are_never_overwritten(tmp_path, tiny_mnist_dir):
    checkpoints.save_new(build("lenet5"), tmp_path, "taken")
    before = (tmp_path / "taken" / "model.safetensors").read_bytes()
    recs = run(TrainConfig(epochs=1, batch_size=256, train_size=512), tmp_path, tiny_mnist_dir, name="taken")
    assert recs == [{"kind": "error", "message": recs[0]["message"]}] and "already exists" in recs[0]["message"]
    assert (tmp_path / "taken" / "model.safetensors").read_bytes() == before


def test_a_crash_while_saving_leaves_nothing_half_written(tmp_path, monkeypatch):
    def full_disk(*a, **k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(checkpoints.os, "replace", full_disk)
    with pytest.raises(OSError):
        checkpoints.save_new(build("tinycnn"), tmp_path, "new-one")
    assert list(tmp_path.iterdir()) == []


def test_a_failing_run_is_reported_and_saved_checkpoints_stay(tmp_path, tiny_mnist_dir, monkeypatch):
    checkpoints.save_new(build("lenet5"), tmp_path, "keep-me")

    def boom(*a, **k):
        raise RuntimeError("simulated failure")
    monkeypatch.setattr(jobs, "train", boom)  # in this process: the run hosted in a thread, as on ZeroGPU
    recs = run(TrainConfig(epochs=1), tmp_path, tiny_mnist_dir, name="fails", isolate=False)
    assert recs[-1]["kind"] == "error" and "simulated failure" in recs[-1]["message"]
    assert not (tmp_path / "fails").exists()
    checkpoints.load(tmp_path / "keep-me")


def test_missing_data_is_a_clear_message(tmp_path):
    recs = list(jobs.train_stream(TrainConfig(), "x", str(tmp_path), J3, str(tmp_path / "nowhere")))
    assert recs == [{"kind": "error", "message": f"MNIST folder {tmp_path / 'nowhere'} does not exist."}]


@pytest.mark.parametrize("isolate", [True, False])
def test_consumer_leaving_stops_the_run(tmp_path, tiny_mnist_dir, isolate):
    gen = jobs.train_stream(TrainConfig(epochs=50, batch_size=32, train_size=512), "left", str(tmp_path), J4,
                            str(tiny_mnist_dir), interval=0.05, isolate=isolate)
    pid = next(gen)["pid"]
    assert (pid != os.getpid()) == isolate
    t0 = time.time()
    gen.close()  # e.g. the browser tab closed; Gradio does this on its event loop
    assert time.time() - t0 < 0.5  # it never waits for the run: every visitor would wait with it

    def gone():
        threads = [t.name for t in threading.enumerate()]
        return f"train-{J4}" not in threads and f"end-{J4}" not in threads and \
            not (isolate and Path(f"/proc/{pid}").exists())
    end = time.time() + 30
    while not gone() and time.time() < end:
        time.sleep(0.1)
    assert gone()  # the run stopped, and its process was reaped
    assert not jobs.stop_file(J4).exists()


def test_the_run_is_its_own_process_and_its_death_is_a_sentence(tmp_path, tiny_mnist_dir):
    """Killed mid-run (out of memory, say): the learner gets a sentence, nothing is half-written,
    earlier checkpoints load, and the app's process goes on."""
    checkpoints.save_new(build("lenet5"), tmp_path, "keep-me")
    gen = jobs.train_stream(TrainConfig(epochs=50, batch_size=32, train_size=512), "killed", str(tmp_path), J5,
                            str(tiny_mnist_dir), interval=0.05)
    first = next(gen)
    assert first["kind"] == "progress" and first["pid"] != os.getpid()
    assert os.getpriority(os.PRIO_PROCESS, first["pid"]) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + jobs.NICENESS)
    os.kill(first["pid"], signal.SIGKILL)
    last = list(gen)[-1]
    assert last == {"kind": "error", "message": "The training process was killed (signal 9) before it "
                    "finished; checkpoints saved before are unaffected."}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep-me"]
    checkpoints.load(tmp_path / "keep-me")


def test_the_run_does_not_hold_this_process_gil(tmp_path, tiny_mnist_dir):
    """While a run trains, this process's Python threads keep running at full speed."""
    gen = jobs.train_stream(TrainConfig(epochs=3, batch_size=16), "gil", str(tmp_path), J6,
                            str(tiny_mnist_dir), interval=0.05)
    rec = next(gen)
    cpu0 = time.process_time()
    for rec in gen:
        pass
    assert rec["kind"] == "done"
    # the work happened elsewhere: this process spent little CPU while it lasted
    assert time.process_time() - cpu0 < rec["train_seconds"]


def test_curve_frames_name_every_series_from_the_first_one():
    """Gradio's line plot keeps the series of the first frame it draws (a series that first
    appears later is never drawn), so no empty frame is sent and every frame names them all."""
    from cnn_demo.views import train as train_view
    rec = {"losses": [], "evals": []}
    assert train_view.loss_frame(rec) is None and train_view.accuracy_frame(rec) is None
    rec["losses"] = [(1, 2.3), (2, 2.2)]
    first = train_view.loss_frame(rec)
    assert set(first["series"]) == set(train_view.LOSS_SERIES)
    assert first[first["series"] == train_view.LOSS_SERIES[1]]["loss"].isna().all()
    rec["evals"] = [{"step": 2, "train_loss": 2.25, "train_accuracy": 0.3, "test_accuracy": 0.4}]
    later = train_view.loss_frame(rec)
    assert set(later["series"]) == set(train_view.LOSS_SERIES) and not later["loss"].isna().any()
    assert set(train_view.accuracy_frame(rec)["series"]) == set(train_view.ACCURACY_SERIES)


def test_a_run_stops_at_its_time_limit_keeping_the_best(tmp_path, tiny_mnist_dir):
    """One job held the only training slot for ~10 hours; every run now has a time limit."""
    recs = run(TrainConfig(epochs=50, batch_size=16, train_size=512), tmp_path, tiny_mnist_dir, name="slow",
               job=jobs.new_job_id(), max_seconds=1.0)
    done = recs[-1]
    assert done["kind"] == "done" and done["stopped"] and done["time_limit"] == 1.0
    assert done["train_seconds"] < 10
    from cnn_demo.views import train as train_view
    assert "stopped at the app's 1 s limit" in train_view.done_markdown(done)


def test_steps_are_reported_in_bundles():
    """A run with small batches made hundreds of step events a second, each a JSON line the
    server parsed; now at most STEP_EVENTS_PER_SECOND bundles a second, no step lost."""
    import time as _time
    out = []
    batcher = jobs.StepBatcher(out.append, rate=10)
    t0 = _time.monotonic()
    step = 0
    while _time.monotonic() - t0 < 0.5:
        step += 1
        batcher({"kind": "step", "step": step, "loss": 1.0 / step, "total_steps": 10**6, "train_seconds": 0})
    batcher({"kind": "eval", "step": step})
    bundles = [e for e in out if e["kind"] == "steps"]
    assert step > 1000 and len(bundles) <= 8  # 0.5 s at 10 a second, plus the flush before the eval
    assert sum(len(b["points"]) for b in bundles) == step and out[-1]["kind"] == "eval"


def test_the_loss_curve_is_thinned_evenly():
    curve = jobs.Curve(cap=100)
    curve.add([(i, float(i)) for i in range(1, 100_001)])
    assert 50 <= len(curve.points) <= 100
    steps = [p[0] for p in curve.points]
    gaps = {b - a for a, b in zip(steps, steps[1:])}
    assert len(gaps) == 1 and steps[0] == 1  # evenly spaced from the start


def test_the_waiting_line_is_bounded_and_fair():
    line = jobs.RunQueue(waiting=2)
    a, b, c, d = (jobs.new_job_id() for _ in range(4))
    for j in (a, b, c):
        line.join(j)
    with pytest.raises(jobs.LimitError, match="2 are already waiting .*the most the app holds is 2"):
        line.join(d)
    assert [line.position(j) for j in (a, b, c)] == [0, 1, 2]
    assert line.wait(a, 0) and not line.wait(b, 0.05)
    line.leave(b)  # a waiting run leaves: the one behind it moves up
    assert line.position(c) == 1
    line.leave(a)
    assert line.wait(c, 0.1)
    line.join(d)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "x", "0" * 15, "ABCDEF0123456789", "", None])
def test_stop_files_are_named_by_server_made_ids_only(bad):
    """The client-chosen session id was part of the stop file's path: '../..' in it wrote and
    deleted files outside the app's folder."""
    with pytest.raises(ValueError):
        jobs.request_stop(bad)
    assert jobs.stop_file(jobs.new_job_id()).parent == jobs.STOP_DIR
