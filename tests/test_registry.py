import pytest

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


def hub_ck(repo: str, sha: str = "0" * 40, arch: str = "lenet5"):
    from cnn_demo import hub
    ck = checkpoints.load(ROOT / "checkpoints" / arch)
    ck.name = hub.name_for(repo, "", sha)
    return ck


def test_nothing_replaces_a_checkpoint_by_name(tmp_path):
    """/load_from_hub("lenet5") (a repo id may lack a namespace) replaced the bundled lenet5 for
    every visitor; a Hub checkpoint is named hub:repo@commit, and taken names are refused."""
    import torch
    from cnn_demo import hub
    from cnn_demo.checkpoints import CheckpointError
    reg = Registry(bundled=ROOT / "checkpoints", user_dir=tmp_path).scan()
    bundled = reg.get("lenet5").ck.model.C1.weight.clone()
    random = build("lenet5")
    stranger = checkpoints.Checkpoint(hub.name_for("lenet5", "", "f" * 40), random)
    assert reg.add(stranger, "hub").ck.name == "hub:lenet5@ffffffff"
    assert torch.equal(reg.get("lenet5").ck.model.C1.weight, bundled)
    for name, source in [("lenet5", "saved"), ("lenet5", "hub"), ("hub:lenet5@ffffffff", "saved"), ("mine", "hub")]:
        with pytest.raises(CheckpointError):
            reg.add(checkpoints.Checkpoint(name, random), source)
    again = reg.add(checkpoints.Checkpoint("hub:lenet5@ffffffff", build("lenet5")), "hub")
    assert again.ck.model is random  # the same repo at the same commit: the entry it had


def test_bundled_names_are_reserved_even_on_disk(tmp_path):
    checkpoints.save_new(build("tinycnn"), tmp_path, "tinycnn")  # e.g. written by an older version
    reg = Registry(bundled=ROOT / "checkpoints", user_dir=tmp_path).scan()
    assert reg.get("tinycnn").source == "bundled"
    assert any("the name of a bundled checkpoint" in p for p in reg.problems)
    with pytest.raises(Exception, match="already has a checkpoint named 'tinycnn'"):
        reg.claim("tinycnn")


def test_hub_checkpoints_are_bounded_least_recently_used_first(tmp_path):
    from cnn_demo.limits import MAX_HUB_CHECKPOINTS
    reg = Registry(bundled=ROOT / "checkpoints", user_dir=tmp_path).scan()
    for i in range(MAX_HUB_CHECKPOINTS):
        reg.add(hub_ck(f"t/r{i}", f"{i:040d}"), "hub")
    reg.get(f"hub:t/r0@{0:08d}")  # used: now the most recent
    reg.add(hub_ck("t/new", "1" * 40), "hub")
    hub_names = [n for n in reg.names() if n.startswith("hub:")]
    assert len(hub_names) == MAX_HUB_CHECKPOINTS
    assert f"hub:t/r1@{1:08d}" not in hub_names and f"hub:t/r0@{0:08d}" in hub_names
    assert {"lenet5", "tinycnn"} <= set(reg.names())
    with pytest.raises(UnknownCheckpoint, match="load it again"):
        reg.get(f"hub:t/r1@{1:08d}")


def test_titles_never_raise(tmp_path):
    reg = Registry(bundled=ROOT / "checkpoints", user_dir=tmp_path).scan()
    odd = checkpoints.Checkpoint("hub:odd@00000000", build("lenet5"), {"test_accuracy": "n/a"})
    reg.add(odd, "hub")
    assert ("hub:odd@00000000 (LeNet-5)", "hub:odd@00000000") in reg.choices()


def test_names_are_claimed_and_room_is_bounded(tmp_path, monkeypatch):
    from cnn_demo import registry as registry_module
    from cnn_demo.limits import LimitError
    reg = Registry(bundled=ROOT / "checkpoints", user_dir=tmp_path).scan()
    assert reg.claim("run-a") == "run-a"
    with pytest.raises(Exception, match="already has a checkpoint named 'run-a'"):
        reg.claim("run-a")  # a second run cannot take the name of one under way
    reg.release("run-a")
    assert [reg.claim("", "lenet5"), reg.claim("", "lenet5")] == ["my-lenet5-1", "my-lenet5-2"]
    reg.release("my-lenet5-1")
    reg.release("my-lenet5-2")
    monkeypatch.setattr(registry_module, "MAX_SAVED_CHECKPOINTS", 2)
    checkpoints.save_new(build("lenet5"), tmp_path, "one")
    reg.claim("two")
    with pytest.raises(LimitError, match="at most 2 trained checkpoints"):
        reg.claim("three")
    reg.release("two")
    monkeypatch.setattr(registry_module, "SAVED_BUDGET", 1000)
    with pytest.raises(LimitError, match="of the app's 1 KB"):
        reg.claim("three")
