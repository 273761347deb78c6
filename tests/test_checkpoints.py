import json
import os
import pickle

import pytest
import torch
from safetensors.torch import save_file

from cnn_demo import checkpoints
from cnn_demo.checkpoints import CheckpointError, check_name
from cnn_demo.evaluate import accuracy
from cnn_demo.models import build
from conftest import ROOT


def test_roundtrip_keeps_weights_and_metadata(tmp_path):
    m = build("tinycnn")
    checkpoints.save(m, tmp_path / "ck", {"test_accuracy": 0.5, "epochs": 2, "seed": 7})
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == ["config.json", "model.safetensors"]
    ck = checkpoints.load(tmp_path / "ck")
    assert ck.arch == "tinycnn" and ck.name == "ck"
    for k, v in m.state_dict().items():
        assert torch.equal(v, ck.model.state_dict()[k])
    meta = ck.meta
    for key in ["arch", "dataset", "test_accuracy", "epochs", "seed", "mean", "std", "torch", "safetensors", "date"]:
        assert key in meta, key
    assert json.loads((tmp_path / "ck" / "config.json").read_text())["arch"] == "tinycnn"


def test_a_failed_write_leaves_the_old_checkpoint_intact(tmp_path, monkeypatch):
    good = build("lenet5")
    checkpoints.save(good, tmp_path / "ck")
    before = (tmp_path / "ck" / "model.safetensors").read_bytes()

    def disk_full(*a, **k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(checkpoints.os, "replace", disk_full)
    with pytest.raises(OSError):
        checkpoints.save(build("lenet5"), tmp_path / "ck")
    monkeypatch.undo()
    assert (tmp_path / "ck" / "model.safetensors").read_bytes() == before
    assert [p.name for p in (tmp_path / "ck").iterdir() if p.name.endswith(".tmp")] == []
    checkpoints.load(tmp_path / "ck")


def test_wrong_architecture_shapes_are_named(tmp_path):
    sd = build("lenet5").state_dict()
    sd["C1.weight"] = torch.zeros(8, 1, 5, 5)
    del sd["OUTPUT.bias"]
    sd["extra"] = torch.zeros(1)
    save_file(sd, str(tmp_path / "model.safetensors"), metadata={"arch": "lenet5"})
    with pytest.raises(CheckpointError) as e:
        checkpoints.load(tmp_path)
    msg = str(e.value)
    assert "missing OUTPUT.bias" in msg and "unexpected extra" in msg
    assert "C1.weight has shape [8, 1, 5, 5], expected [6, 1, 5, 5]" in msg


def test_tinycnn_weights_labelled_lenet5_are_refused(tmp_path):
    save_file(build("tinycnn").state_dict(), str(tmp_path / "model.safetensors"), metadata={"arch": "lenet5"})
    with pytest.raises(CheckpointError, match="does not match LeNet-5: missing C1.weight"):
        checkpoints.load(tmp_path)


def test_unknown_arch_and_no_arch(tmp_path):
    save_file(build("tinycnn").state_dict(), str(tmp_path / "model.safetensors"), metadata={"arch": "alexnet"})
    with pytest.raises(CheckpointError, match="architecture 'alexnet', which this app does not know"):
        checkpoints.load(tmp_path)
    save_file(build("tinycnn").state_dict(), str(tmp_path / "model.safetensors"))
    with pytest.raises(CheckpointError, match="does not say which architecture"):
        checkpoints.load(tmp_path)
    (tmp_path / "config.json").write_text('{"arch": "tinycnn"}')  # the HF convention: config beside weights
    assert checkpoints.load(tmp_path).arch == "tinycnn"


def test_truncated_and_garbage_files(tmp_path):
    checkpoints.save(build("lenet5"), tmp_path / "ck")
    w = tmp_path / "ck" / "model.safetensors"
    w.write_bytes(w.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        checkpoints.load(w)
    w.write_bytes(b"hello")
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        checkpoints.load(w)
    w.write_bytes((10 * 2**30).to_bytes(8, "little") + b"{}")  # header claims 10 GB
    with pytest.raises(CheckpointError, match="claims more bytes"):
        checkpoints.load(w)


class Boom:
    def __reduce__(self):
        return (os.system, ("touch BOOM_UNPICKLED",))


def test_pickles_are_refused_never_loaded(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "evil").mkdir()
    (tmp_path / "evil" / "pytorch_model.bin").write_bytes(pickle.dumps(Boom()))
    (tmp_path / "model.pt").write_bytes(pickle.dumps(Boom()))
    with pytest.raises(CheckpointError, match="pickled weights .*refused, never loaded"):
        checkpoints.load(tmp_path / "evil")
    with pytest.raises(CheckpointError, match="pickled PyTorch file"):
        checkpoints.load(tmp_path / "model.pt")
    assert not (tmp_path / "BOOM_UNPICKLED").exists()


def test_nan_weights_are_refused(tmp_path):
    sd = build("lenet5").state_dict()
    sd["F6.weight"][0, 0] = float("nan")
    save_file(sd, str(tmp_path / "model.safetensors"), metadata={"arch": "lenet5"})
    with pytest.raises(CheckpointError, match="F6.weight holds NaN"):
        checkpoints.load(tmp_path)


@pytest.mark.parametrize("name", ["../../etc/passwd", "/abs/path", "", "a/b", "..", ".hidden", "x" * 65, "név"])
def test_names_cannot_escape_their_folder(name):
    with pytest.raises(CheckpointError, match="not a valid checkpoint name"):
        check_name(name)


@pytest.mark.parametrize("name,floor", [("lenet5", 0.993), ("tinycnn", 0.992)])
def test_bundled_checkpoints_meet_their_accuracy(mnist, name, floor):
    ck = checkpoints.load(ROOT / "checkpoints" / name)
    acc = accuracy(ck.model, mnist.images("test"), mnist.labels("test"))
    assert acc >= floor
    assert abs(acc - ck.meta["test_accuracy"]) < 1e-4  # the metadata tells the truth
    assert ck.meta["train_config"]["augment"] is True
