"""Real huggingface_hub code: offline against a real Hub cache folder, and online against a
Hub-compatible server on loopback (tests/fake_hub.py) that records what was asked of it."""
import json
import os
import pickle
import tempfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as st_save

from cnn_demo import checkpoints, hub
from cnn_demo.checkpoints import CheckpointError
from cnn_demo.hub import HubError
from cnn_demo.limits import LimitError
from cnn_demo.models import build
from conftest import ROOT, build_cache_repo
from fake_hub import Big, FakeHub


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_DEMO_HUB_CACHE", str(tmp_path / "hub"))
    return tmp_path / "hub"


@pytest.fixture
def online(cache, monkeypatch):
    """The loopback Hub, with huggingface_hub pointed at it and out of offline mode."""
    from huggingface_hub import constants
    server = FakeHub()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    yield server
    server.close()


def folder_bytes(path):
    return {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()}


LENET = folder_bytes(ROOT / "checkpoints" / "lenet5")


# ---- offline: a repo already in the cache -----------------------------------------------
def test_loads_a_checkpoint_from_the_cache_by_repo_id(cache):
    build_cache_repo(cache, "teacher/lenet5-mnist", LENET, sha="0123456789" * 4)
    ck = hub.load_from_hub("teacher/lenet5-mnist")
    assert ck.name == "hub:teacher/lenet5-mnist@01234567" and ck.arch == "lenet5"
    ref = checkpoints.load(ROOT / "checkpoints" / "lenet5")
    assert torch.equal(ck.model.C1.weight, ref.model.C1.weight)


def test_revision_and_subfolder(cache):
    files = {f"tiny/{k}": v for k, v in folder_bytes(ROOT / "checkpoints" / "tinycnn").items()}
    build_cache_repo(cache, "teacher/zoo", files, sha="a" * 40, revision="v1")
    ck = hub.load_from_hub("teacher/zoo", revision="v1", subfolder="tiny")
    assert ck.arch == "tinycnn" and ck.name == "hub:teacher/zoo/tiny@aaaaaaaa"
    with pytest.raises(HubError, match="has no 'nothing'"):
        hub.load_from_hub("teacher/zoo", revision="v1", subfolder="nothing")
    with pytest.raises(HubError, match="not a folder name"):
        hub.load_from_hub("teacher/zoo", revision="v1", subfolder="../../etc")


def test_unknown_repo_offline_is_explained(cache):
    with pytest.raises(HubError, match="cannot be reached .* not in the local cache"):
        hub.load_from_hub("nobody/nothing")


@pytest.mark.parametrize("bad", ["", "a/b/c", "../x", "has space/x", "x" * 200, None, 5])
def test_bad_repo_ids(bad):
    with pytest.raises(HubError, match="not a Hub repo id"):
        hub.load_from_hub(bad)


@pytest.mark.parametrize("rev", ["<img src=x>", "../main", "a b", "x" * 101, "main.lock", "[x](y)"])
def test_revisions_are_git_refs(rev):
    with pytest.raises(HubError, match="is not a revision"):
        hub.check_revision(rev)
    assert hub.check_revision(" v1.0/rc ") == "v1.0/rc" and hub.check_revision("") is None


# ---- online: the Hub's own answers --------------------------------------------------------
def test_downloads_only_what_a_checkpoint_needs(online):
    """A repo with a checkpoint beside gigabytes of other files: only its weights, config and
    insights are downloaded (all matching files were, before the size check ran on one)."""
    online.add_repo("teacher/lenet5", {**LENET, "logs/run.json": Big(300 * 2**20), "old/model.safetensors": Big(2**30),
                                       "big.json": Big(600 * 2**20), "README.md": b"# hi"})
    ck = hub.load_from_hub("teacher/lenet5")
    assert ck.arch == "lenet5" and ck.notes == []
    got = sorted(p.rsplit("/", 1)[1] for p in online.downloads())
    assert got == ["config.json", "insights.safetensors", "model.safetensors"]
    assert online.bytes_sent() < 3 * 2**20


def test_files_are_refused_by_their_listed_size_before_downloading(online):
    online.add_repo("x/huge-weights", {"model.safetensors": Big(400 * 2**20)})
    with pytest.raises(LimitError, match="model.safetensors is 400 MB; .* at most 16 MB"):
        hub.load_from_hub("x/huge-weights")
    online.add_repo("x/huge-insights", {"model.safetensors": LENET["model.safetensors"],
                                        "insights.safetensors": Big(400 * 2**20)})
    ck = hub.load_from_hub("x/huge-insights")
    assert ck.notes == ["its insights.safetensors (400 MB) is over the 8 MB limit and was not downloaded"]
    assert online.bytes_sent() < 2**20


def test_pickles_are_refused_before_any_download(online, capsys):
    class Boom:
        def __reduce__(self):
            return (print, ("UNPICKLED",))
    online.add_repo("someone/pickled", {"pytorch_model.bin": pickle.dumps(Boom()), "config.json": b'{"arch": "lenet5"}'})
    with pytest.raises(CheckpointError, match="someone/pickled offers only pickled weights .*never downloaded"):
        hub.load_from_hub("someone/pickled")
    assert online.downloads() == []
    assert "UNPICKLED" not in capsys.readouterr().out


def test_safetensors_in_subfolders_are_pointed_to(online):
    online.add_repo("zoo/many", {"lenet/model.safetensors": LENET["model.safetensors"], "README.md": b"x"})
    with pytest.raises(CheckpointError, match="holds no .safetensors checkpoint .*in lenet: give that as the subfolder"):
        hub.load_from_hub("zoo/many")
    assert hub.load_from_hub("zoo/many", subfolder="lenet").name.startswith("hub:zoo/many/lenet@")


def test_not_found_private_and_gated(online):
    online.add_repo("me/private", {"model.safetensors": LENET["model.safetensors"]}, private=True, readers={"hf_reader"})
    online.add_repo("me/gated", {"model.safetensors": LENET["model.safetensors"]}, gated=True, readers={"hf_reader"})
    with pytest.raises(HubError, match="No model repo nobody/nothing on the Hub"):
        hub.load_from_hub("nobody/nothing")
    with pytest.raises(HubError, match="No model repo me/private on the Hub .*give a token"):
        hub.load_from_hub("me/private")
    with pytest.raises(HubError, match="me/gated is gated"):
        hub.load_from_hub("me/gated")
    with pytest.raises(HubError, match="has no revision 'v9'"):
        hub.load_from_hub("me/private", revision="v9", token="hf_reader")
    assert hub.load_from_hub("me/private", token="hf_reader").name.startswith("hub:me/private@")
    assert hub.load_from_hub("me/gated", token="hf_reader").arch == "lenet5"


def test_a_visitors_load_never_sends_the_servers_token(online, monkeypatch):
    """huggingface_hub sends HF_TOKEN when given token=None: a visitor could then load the
    owner's private repos. Loads carry the visitor's token or none."""
    monkeypatch.setenv("HF_TOKEN", "hf_owner_secret")
    online.add_repo("owner/private", {"model.safetensors": LENET["model.safetensors"]}, private=True,
                    readers={"hf_owner_secret"})
    online.add_repo("teacher/public", LENET)
    hub.load_from_hub("teacher/public")
    with pytest.raises(HubError, match="No model repo owner/private"):
        hub.load_from_hub("owner/private")
    assert {r.auth for r in online.requests} == {None}
    hub.load_from_hub("teacher/public", token="hf_visitor")
    assert "Bearer hf_visitor" in {r.auth for r in online.requests}


def test_hostile_metadata_loads_and_is_noted(online):
    """test_accuracy "n/a" loaded, then made Checkpoint.title raise for every visitor."""
    sd = build("lenet5").state_dict()
    online.add_repo("odd/meta", {"model.safetensors": st_save(sd, metadata={
        "arch": "lenet5", "test_accuracy": "n/a", "epochs": "many", "name": "x" * 500,
        "train_config": json.dumps({"lr": [1, 2]})})})
    ck = hub.load_from_hub("odd/meta")
    assert ck.title == f"{ck.name} (LeNet-5)"
    assert "test_accuracy" not in ck.meta and "epochs" not in ck.meta and "train_config" not in ck.meta
    assert len(ck.notes) == 4 and any("test_accuracy ('n/a')" in n for n in ck.notes)


def test_the_cache_keeps_within_its_budget(online, cache):
    """Least recently loaded repos go first; the one just loaded stays."""
    for i in range(3):
        online.add_repo(f"t/r{i}", {"model.safetensors": LENET["model.safetensors"]})
        hub.load_from_hub(f"t/r{i}")
        os.utime(cache / f"models--t--r{i}" / hub.USED, (1000 + i, 1000 + i))
    hub.load_from_hub("t/r0")  # r0 used again: now the most recent
    gone = hub.evict(cache, budget=2 * len(LENET["model.safetensors"]) + 1000,
                     keep=cache / "models--t--r0")
    assert gone == ["models--t--r1"]
    assert sorted(p.name for p in cache.glob("models--*")) == ["models--t--r0", "models--t--r2"]


# ---- pushing ------------------------------------------------------------------------------
def test_push_then_load_what_was_pushed(online, tmp_path):
    online.users["hf_writer"] = "me"
    ck = checkpoints.load(ROOT / "checkpoints" / "lenet5")
    url = hub.push(ck, "me/my-lenet", "hf_writer")
    assert url == f"{online.url}/me/my-lenet"
    files = online.repos["me/my-lenet"].commits[online.repos["me/my-lenet"].refs["main"]]
    assert sorted(files) == ["README.md", "config.json", "insights.safetensors", "model.safetensors"]
    card = files["README.md"].decode()
    for s in ["LeNet-5", f"{ck.meta['test_accuracy']:.4f}", "epochs=20", "snapshot_download(\"me/my-lenet\")", "safetensors"]:
        assert s in card, s
    back = hub.load_from_hub("me/my-lenet")
    assert torch.equal(back.model.OUTPUT.weight, ck.model.OUTPUT.weight)
    assert back.meta["test_accuracy"] == ck.meta["test_accuracy"]
    hub.push(ck, "me/my-lenet", "hf_writer")  # again: the repo exists, a new commit
    assert len(online.repos["me/my-lenet"].commits) == 3


def test_push_refusals_never_echo_the_token(online):
    online.users["hf_writer"] = "me"
    ck = checkpoints.load(ROOT / "checkpoints" / "lenet5")
    with pytest.raises(HubError, match="needs a Hugging Face token"):
        hub.push(ck, "me/x", "")
    secret = "hf_" + "S3cr3tT0k3n" * 3
    with pytest.raises(HubError, match="refused the token") as e:
        hub.push(ck, "me/x", secret)
    assert secret not in str(e.value)
    with pytest.raises(HubError, match="refused access to someone-else/x .*403"):
        hub.push(ck, "someone-else/x", "hf_writer")
    with pytest.raises(HubError, match="Write the repo as user/name"):
        hub.push(ck, "x", "hf_writer")


def test_a_push_that_fails_while_preparing_leaves_no_folder(online, monkeypatch):
    online.users["hf_writer"] = "me"
    ck = checkpoints.load(ROOT / "checkpoints" / "lenet5")
    before = set(Path(tempfile.gettempdir()).glob("cnn-demo-push-*"))

    def disk_full(*a, **k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(checkpoints, "_atomic_write", disk_full)
    with pytest.raises(OSError):
        hub.push(ck, "me/x", "hf_writer")
    assert set(Path(tempfile.gettempdir()).glob("cnn-demo-push-*")) == before
    assert "me/x" not in online.repos
