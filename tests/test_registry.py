from cnn_demo import checkpoints
from cnn_demo.models import build
from cnn_demo.registry import Registry, UnknownCheckpoint
from conftest import ROOT


def test_a_restart_finds_every_saved_checkpoint_and_reports_broken_ones(tmp_path):
    checkpoints.save_new(build("lenet5"), tmp_path, "mine-1")
    checkpoints.save_new(build("tinycnn"), tmp_path, "mine-2")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "model.safetensors").write_bytes(b"\x00" * 20)
    (tmp_path / ".half.tmp").mkdir()  # a write that was interrupted: ignored
    reg = Registry(user_dir=tmp_path).scan()
    assert reg.names() == ["lenet5", "tinycnn", "mine-1", "mine-2"]
    assert len(reg.problems) == 1 and reg.problems[0].startswith("broken: ")
    assert reg.get("mine-2").ck.arch == "tinycnn"


def test_unknown_names_list_what_is_known(tmp_path):
    reg = Registry(bundled=ROOT / "checkpoints", user_dir=tmp_path).scan()
    try:
        reg.get("nope")
    except UnknownCheckpoint as e:
        assert str(e) == "No checkpoint named 'nope'; the app knows: lenet5, tinycnn."
    else:
        raise AssertionError
