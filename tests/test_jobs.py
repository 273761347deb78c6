"""The training stream behind the Train tab: progress, stop, atomic saving, failures."""
import threading
import time

import pytest

from cnn_demo import checkpoints, jobs
from cnn_demo.models import build
from cnn_demo.train import TrainConfig


def run(cfg, tmp_path, tiny_mnist_dir, name="job", job="t1", on_progress=None):
    recs = []
    for rec in jobs.train_stream(cfg, name, str(tmp_path), job, str(tiny_mnist_dir), interval=0.05):
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
            jobs.request_stop("t2")
            stopped.append(rec["step"])
    recs = run(TrainConfig(epochs=5, batch_size=32), tmp_path, tiny_mnist_dir, job="t2", on_progress=stop_after_first)
    done = recs[-1]
    assert done["kind"] == "done" and done["stopped"]
    assert checkpoints.load(done["path"]).arch == "lenet5"
    assert not jobs.stop_file("t2").exists()


def test_names_are_never_overwritten(tmp_path, tiny_mnist_dir):
    checkpoints.save_new(build("lenet5"), tmp_path, "taken")
    before = (tmp_path / "taken" / "model.safetensors").read_bytes()
    recs = run(TrainConfig(epochs=1, batch_size=256), tmp_path, tiny_mnist_dir, name="taken")
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
    monkeypatch.setattr(jobs, "train", boom)
    recs = run(TrainConfig(epochs=1), tmp_path, tiny_mnist_dir, name="fails")
    assert recs[-1]["kind"] == "error" and "simulated failure" in recs[-1]["message"]
    assert not (tmp_path / "fails").exists()
    checkpoints.load(tmp_path / "keep-me")


def test_missing_data_is_a_clear_message(tmp_path):
    recs = list(jobs.train_stream(TrainConfig(), "x", str(tmp_path), "t3", str(tmp_path / "nowhere")))
    assert recs == [{"kind": "error", "message": f"MNIST folder {tmp_path / 'nowhere'} does not exist."}]


def test_consumer_leaving_stops_the_run(tmp_path, tiny_mnist_dir):
    gen = jobs.train_stream(TrainConfig(epochs=50, batch_size=32), "left", str(tmp_path), "t4",
                            str(tiny_mnist_dir), interval=0.05)
    next(gen)
    t0 = time.time()
    gen.close()  # e.g. the browser tab closed
    assert time.time() - t0 < 30
    assert [t for t in threading.enumerate() if t.name == "train-t4"] == []
