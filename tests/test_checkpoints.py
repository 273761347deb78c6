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


def test_a_wider_tinycnn_keeps_its_widths_and_its_weights_decide_them(tmp_path):
    """TinyCNN's widths are part of a checkpoint: written to config.json and the weights'
    metadata, read back from the weights' shapes (a config that says otherwise is not
    believed), and a width beyond what the app serves is refused in a sentence."""
    m = build("tinycnn", widths=(32, 64))
    checkpoints.save(m, tmp_path / "wide", {"widths": [16, 32]})
    assert json.loads((tmp_path / "wide" / "config.json").read_text())["widths"] == [32, 64]
    ck = checkpoints.load(tmp_path / "wide")
    assert ck.model.widths == (32, 64) and ck.meta["widths"] == (32, 64) and "TinyCNN 32/64" in ck.title
    assert ck.model.channels("conv2") == 64
    save_file(m.state_dict(), str(tmp_path / "model.safetensors"), metadata={"arch": "tinycnn", "widths": "[16, 32]"})
    assert checkpoints.load(tmp_path / "model.safetensors").model.widths == (32, 64)
    wide = {k: torch.zeros(v.shape[0] * 5, *v.shape[1:]) if k.startswith("conv1") else v
            for k, v in build("tinycnn").state_dict().items()}
    save_file(wide, str(tmp_path / "model.safetensors"), metadata={"arch": "tinycnn"})
    with pytest.raises(CheckpointError, match=r"widths are two whole numbers of filters, at most 64 and 128, "
                                              r"not \(80, 32\)"):
        checkpoints.load(tmp_path / "model.safetensors")
    lenet = build("lenet5")
    save_file(lenet.state_dict(), str(tmp_path / "model.safetensors"), metadata={"arch": "lenet5", "widths": "[1, 2]"})
    assert "widths" not in checkpoints.load(tmp_path / "model.safetensors").meta


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
    ck = checkpoints.load(tmp_path)  # nothing says: recognised from its tensors, and it says so
    assert ck.arch == "tinycnn" and ck.found[0].startswith("Recognised as TinyCNN")
    save_file({"fc.weight": torch.zeros(10, 50)}, str(tmp_path / "model.safetensors"))
    with pytest.raises(CheckpointError, match="does not say which architecture .* fit none of the app's networks"):
        checkpoints.load(tmp_path)
    (tmp_path / "config.json").write_text('{"arch": "tinycnn"}')  # the HF convention: config beside weights
    save_file(build("tinycnn").state_dict(), str(tmp_path / "model.safetensors"))
    ck = checkpoints.load(tmp_path)  # the architecture said, the inputs not: only those are found
    assert ck.arch == "tinycnn" and len(ck.found) == 1 and ck.found[0].startswith("It expects")


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


@pytest.mark.parametrize("scale,ok", [(1.0, True), (1e3, True), (1e30, False)])
def test_weights_that_overflow_are_refused(tmp_path, scale, ok):
    """×1e30 weights passed the finite check and gave NaN probabilities for every drawing."""
    sd = {k: v * scale for k, v in build("lenet5").state_dict().items()}
    save_file(sd, str(tmp_path / "model.safetensors"), metadata={"arch": "lenet5"})
    if ok:
        ck = checkpoints.load(tmp_path)
        assert torch.isfinite(ck.model(torch.rand(4, 1, 28, 28))).all()
    else:
        with pytest.raises(CheckpointError, match=r"beyond ±10000"):
            checkpoints.load(tmp_path)


def test_a_tiny_std_that_would_overflow_is_refused(tmp_path):
    save_file(build("lenet5").state_dict(), str(tmp_path / "model.safetensors"),
              metadata={"arch": "lenet5", "std": "1e-30"})
    with pytest.raises(CheckpointError, match="implausible normalisation"):
        checkpoints.load(tmp_path)


@pytest.mark.parametrize("field,value,kept", [
    ("test_accuracy", "n/a", False), ("test_accuracy", "1.5", False), ("test_accuracy", "0.97", True),
    ("epochs", "-3", False), ("epochs", "true", False), ("seed", "12", True), ("name", "2024", True),
    ("train_config", '{"lr": 0.1, "epochs": 3}', True), ("train_config", '{"lr": [1]}', False),
    ("train_config", '{"evil": "x"}', False), ("date", "x" * 1000, False), ("whatever", "<script>", None),
])
def test_every_metadata_field_has_its_type(tmp_path, field, value, kept):
    save_file(build("lenet5").state_dict(), str(tmp_path / "model.safetensors"),
              metadata={"arch": "lenet5", field: value})
    ck = checkpoints.load(tmp_path)
    assert (field in ck.meta) is bool(kept)
    assert bool(ck.notes) is (kept is False)
    assert ck.title.startswith(ck.name)


def test_a_disk_that_fills_after_the_weights_leaves_nothing(tmp_path):
    """The insights are written inside the folder before it is renamed into place: a full disk
    then leaves no unlisted folder whose name stays taken."""
    def full(folder):
        raise OSError(28, "No space left on device")
    with pytest.raises(OSError):
        checkpoints.save_new(build("lenet5"), tmp_path, "run", extra=full)
    assert list(tmp_path.iterdir()) == []
    checkpoints.save_new(build("lenet5"), tmp_path, "run", extra=lambda f: (f / "extra.txt").write_text("x"))
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["config.json", "extra.txt", "model.safetensors"]


def test_messages_quote_hostile_tensor_names_briefly(tmp_path):
    sd = build("lenet5").state_dict()
    for i in range(30):
        sd[f"<img src=http://evil/{i}>"] = torch.zeros(1)
    save_file(sd, str(tmp_path / "model.safetensors"), metadata={"arch": "lenet5"})
    with pytest.raises(CheckpointError) as e:
        checkpoints.load(tmp_path)
    assert "and 22 more" in str(e.value) and len(str(e.value)) < 600
