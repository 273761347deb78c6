import subprocess
import sys

import pytest
import torch

from cnn_demo import checkpoints
from cnn_demo.data import read_folder
from cnn_demo.models import build
from cnn_demo.train import TrainConfig, train
from conftest import ROOT


@pytest.fixture(scope="module")
def tiny(tiny_mnist_dir):
    return read_folder(tiny_mnist_dir)


def _cfg(**kw):
    return TrainConfig(**{"arch": "lenet5", "epochs": 1, "batch_size": 256, "lr": 3e-3, **kw})


def test_two_steps_learn_something_and_report(tiny):
    events = []
    res = train(_cfg(), tiny, device="cpu", on_event=events.append)
    steps = [e for e in events if e["kind"] == "step"]
    evals = [e for e in events if e["kind"] == "eval"]
    assert len(steps) == 2 and steps[-1]["total_steps"] == 2
    assert len(evals) == 1 and evals[0]["epoch_end"]
    assert evals[0]["filters"].shape == (6, 1, 5, 5)
    assert 0 <= res.test_accuracy <= 1 and res.history[-1]["test_accuracy"] == res.test_accuracy
    torch.manual_seed(0)  # train() seeds the same way before building, so this is its start
    start = build("lenet5")
    assert not torch.equal(start.C1.weight, res.model.C1.weight)


def test_same_seed_same_weights(tiny):
    a = train(_cfg(augment=True, seed=3), tiny, device="cpu").model.state_dict()
    b = train(_cfg(augment=True, seed=3), tiny, device="cpu").model.state_dict()
    c = train(_cfg(augment=True, seed=4), tiny, device="cpu").model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


@pytest.mark.parametrize("opt,sched", [("sgd", "cosine"), ("adam", "step"), ("sgd", "constant")])
def test_optimizers_and_schedules(tiny, opt, sched):
    res = train(_cfg(arch="tinycnn", optimizer=opt, schedule=sched, train_size=300), tiny, device="cpu")
    assert torch.isfinite(res.model.fc.weight).all()


def test_stop_ends_cleanly_and_keeps_the_best(tiny):
    calls = []
    res = train(_cfg(epochs=3, batch_size=64), tiny, device="cpu", should_stop=lambda: len(calls) > 2,
                on_event=lambda e: calls.append(e) if e["kind"] == "step" else None)
    assert res.stopped and len(calls) == 4
    assert res.test_accuracy == max(h["test_accuracy"] for h in res.history)


@pytest.mark.parametrize("cfg,msg", [
    (dict(arch="vgg"), "Unknown architecture"), (dict(optimizer="rmsprop"), "Unknown optimizer"),
    (dict(epochs=0), "Epochs must be"), (dict(lr=-1.0), "Learning rate"), (dict(batch_size=0), "Batch size"),
])
def test_bad_settings_are_refused(tiny, cfg, msg):
    with pytest.raises(ValueError, match=msg):
        train(_cfg(**cfg), tiny, device="cpu")


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=240)


def test_cli_trains_saves_and_evaluates(tiny_mnist_dir, tmp_path):
    out = tmp_path / "tiny-lenet"
    r = run_cli("cnn_demo.train", "--arch", "lenet5", "--data-dir", str(tiny_mnist_dir), "--out", str(out),
                "--epochs", "1", "--batch-size", "256", "--augment", "--seed", "1")
    assert r.returncode == 0, r.stderr
    assert "epoch   1  train_loss=" in r.stdout and "test_acc=" in r.stdout and "saved" in r.stdout
    ck = checkpoints.load(out)
    assert ck.meta["arch"] == "lenet5" and ck.meta["seed"] == 1 and ck.meta["dataset"] == "MNIST"
    assert ck.meta["train_config"]["augment"] is True
    r = run_cli("cnn_demo.evaluate", str(out), "--data-dir", str(tiny_mnist_dir))
    assert r.returncode == 0, r.stderr
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith("accuracy=") and len(last) == len("accuracy=0.0000")
    assert abs(float(last.split("=")[1]) - ck.meta["test_accuracy"]) < 1e-4


def test_cli_bad_inputs_exit_nonzero_with_one_sentence(tmp_path, tiny_mnist_dir):
    r = run_cli("cnn_demo.train", "--arch", "resnet", "--data-dir", str(tiny_mnist_dir), "--out", str(tmp_path / "x"))
    assert r.returncode != 0 and "Unknown architecture 'resnet'" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("cnn_demo.train", "--data-dir", str(tmp_path), "--out", str(tmp_path / "x"))
    assert r.returncode != 0 and "lacks" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x").exists()
    (tmp_path / "model.pt").write_bytes(b"\x80\x04not really")
    r = run_cli("cnn_demo.evaluate", str(tmp_path / "model.pt"), "--data-dir", str(tiny_mnist_dir))
    assert r.returncode != 0 and "pickle" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 8])
def test_onecycle_works_for_very_short_runs(tiny, n):
    res = train(_cfg(batch_size=512 // n if n > 1 else 512, train_size=512), tiny, device="cpu")
    assert torch.isfinite(res.model.OUTPUT.weight).all()


def test_new_levers_train_drawn_warped_and_distilled(tiny, tmp_path, monkeypatch):
    """Two steps with every issue-15 lever on: digits as drawn (cached in a temporary folder),
    continental 1s, 7s and 9s among them, an elastic warp, a teacher's answers; all deterministic for a seed."""
    monkeypatch.setattr("cnn_demo.data.DEFAULT_CACHE", tmp_path / "cache")
    teacher = tmp_path / "teacher"
    checkpoints.save(build("lenet5"), teacher, {"name": "teacher"})
    cfg = _cfg(arch="tinycnn", augment=True, warp=34, drawn=0.5, styles=0.5, teacher=str(teacher), train_size=300)
    a, b = train(cfg, tiny, device="cpu"), train(cfg, tiny, device="cpu")
    assert list((tmp_path / "cache").glob("as-drawn-v*.npy"))
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    plain = train(_cfg(arch="tinycnn", augment=True, train_size=300), tiny, device="cpu").model.state_dict()
    assert not all(torch.equal(sa[k], plain[k]) for k in sa)
    assert a.meta()["train_config"]["teacher"] == str(teacher)


@pytest.mark.parametrize("kw,msg", [(dict(teacher="/etc"), "command line"), (dict(drawn=0.5), "command line"),
                                    (dict(warp=99), "warp must be"), (dict(drawn=2), "drawn share")])
def test_levers_are_bounded_and_not_for_hosted_runs(kw, msg):
    with pytest.raises(ValueError, match=msg):
        TrainConfig.make("tinycnn", 1, 64, **kw)
    if "teacher" in kw or kw.get("drawn") == 0.5:
        assert TrainConfig.make("tinycnn", 1, 64, hosted=False, **kw)


def test_cli_trains_a_tinycnn_at_other_widths(tiny_mnist_dir, tmp_path):
    """`--widths` is how the bundled 32/64 TinyCNN is made: the checkpoint has those widths and
    says so in its recipe; widths are refused for LeNet-5, beyond the bounds and for hosted runs."""
    out = tmp_path / "wide"
    r = run_cli("cnn_demo.train", "--arch", "tinycnn", "--widths", "8", "24", "--data-dir", str(tiny_mnist_dir),
                "--out", str(out), "--epochs", "1", "--batch-size", "512", "--train-size", "512")
    assert r.returncode == 0, r.stderr
    ck = checkpoints.load(out)
    assert ck.model.widths == (8, 24) and ck.meta["train_config"]["widths"] == [8, 24]
    assert TrainConfig.make(**{**ck.meta["train_config"], "hosted": False}).widths == (8, 24)
    for kw, msg in [(dict(arch="lenet5", widths=[4, 4]), "Widths are TinyCNN's"),
                    (dict(widths=[500, 32]), "at most 64 and 128"), (dict(widths=[32]), "two numbers"),
                    (dict(widths=["a", 3]), "whole number")]:
        with pytest.raises(ValueError, match=msg):
            TrainConfig.make(**{"arch": "tinycnn", **kw}, hosted=False)
    with pytest.raises(ValueError, match="command line"):
        TrainConfig.make("tinycnn", widths=[32, 64])
    assert TrainConfig.make("tinycnn", widths=[]).widths == ()


def test_a_variant_model_trains_in_place_of_the_architecture(tiny):
    """benchmarks/wider_tinycnn.py hands train() a wider TinyCNN: that model, not a fresh
    16/32 one, is what gets trained and returned."""
    wide = build("tinycnn", widths=(8, 24))
    before = wide.conv2.weight.detach().clone()
    res = train(_cfg(arch="tinycnn"), tiny, device="cpu", model=wide)
    assert res.model is wide and res.model.conv2.weight.shape == (24, 8, 3, 3)
    assert not torch.equal(before, res.model.conv2.weight)
    assert res.model.names == build("tinycnn").names
