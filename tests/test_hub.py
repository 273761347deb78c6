"""Real huggingface_hub code, offline, against a real Hub cache folder."""
import pickle

import pytest
import torch
from safetensors.torch import save as st_save

from cnn_demo import checkpoints, hub
from cnn_demo.checkpoints import CheckpointError
from cnn_demo.hub import HubError
from cnn_demo.models import build
from conftest import ROOT, build_cache_repo


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    return tmp_path / "hub"


def folder_bytes(path):
    return {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()}


def test_loads_a_checkpoint_by_repo_id(cache):
    build_cache_repo(cache, "teacher/lenet5-mnist", folder_bytes(ROOT / "checkpoints" / "lenet5"))
    ck = hub.load_from_hub("teacher/lenet5-mnist")
    assert ck.name == "teacher/lenet5-mnist" and ck.arch == "lenet5"
    ref = checkpoints.load(ROOT / "checkpoints" / "lenet5")
    assert torch.equal(ck.model.C1.weight, ref.model.C1.weight)


def test_revision_and_subfolder(cache):
    files = {f"tiny/{k}": v for k, v in folder_bytes(ROOT / "checkpoints" / "tinycnn").items()}
    build_cache_repo(cache, "teacher/zoo", files, sha="a" * 40, revision="v1")
    ck = hub.load_from_hub("teacher/zoo", revision="v1", subfolder="tiny")
    assert ck.arch == "tinycnn" and ck.name == "teacher/zoo/tiny@v1"
    with pytest.raises(HubError, match="has no 'nothing'"):
        hub.load_from_hub("teacher/zoo", revision="v1", subfolder="nothing")
    with pytest.raises(HubError, match="not a folder or file name"):
        hub.load_from_hub("teacher/zoo", revision="v1", subfolder="../../etc")


def test_unknown_repo_offline_is_explained(cache):
    with pytest.raises(HubError, match="cannot be reached .* not in the local cache"):
        hub.load_from_hub("nobody/nothing")


@pytest.mark.parametrize("bad", ["", "a/b/c", "../x", "has space/x", "x" * 200])
def test_bad_repo_ids(bad):
    with pytest.raises(HubError, match="not a Hub repo id"):
        hub.load_from_hub(bad)


def test_repo_without_a_usable_checkpoint(cache):
    build_cache_repo(cache, "someone/readme-only", {"README.md": b"# nothing here"})
    with pytest.raises(CheckpointError, match="holds no model.safetensors"):
        hub.load_from_hub("someone/readme-only")


class Boom:
    def __reduce__(self):
        return (print, ("UNPICKLED",))


def test_pickled_weights_are_refused(cache, capsys):
    build_cache_repo(cache, "someone/pickled", {"pytorch_model.bin": pickle.dumps(Boom()),
                                                "config.json": b'{"arch": "lenet5"}'})
    with pytest.raises(CheckpointError, match="pickled weights"):
        hub.load_from_hub("someone/pickled")
    assert "UNPICKLED" not in capsys.readouterr().out


def test_wrong_architecture_or_shapes(cache):
    sd = build("tinycnn").state_dict()
    build_cache_repo(cache, "someone/mislabelled", {"model.safetensors": st_save(sd, metadata={"arch": "lenet5"})})
    with pytest.raises(CheckpointError, match="does not match LeNet-5"):
        hub.load_from_hub("someone/mislabelled")


def test_push_folder_loads_back_with_a_card(tmp_path):
    ck = checkpoints.load(ROOT / "checkpoints" / "lenet5")
    folder = hub.prepare_upload(ck, "me/my-lenet", tmp_path / "up")
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    back = checkpoints.load(folder)
    assert torch.equal(back.model.OUTPUT.weight, ck.model.OUTPUT.weight)
    card = (folder / "README.md").read_text()
    for s in ["LeNet-5", "0.9955", "epochs=20", "snapshot_download(\"me/my-lenet\")", "safetensors"]:
        assert s in card, s


def test_push_refuses_without_token_and_never_echoes_it():
    ck = checkpoints.load(ROOT / "checkpoints" / "lenet5")
    with pytest.raises(HubError, match="needs a Hugging Face token"):
        hub.push(ck, "me/x", "")
    secret = "hf_" + "S3cr3tT0k3n" * 3
    with pytest.raises(HubError) as e:
        hub.push(ck, "me/x", secret)  # offline: the create_repo call fails
    assert secret not in str(e.value)
