"""What a push puts on the Hub, word for word: the model card a teacher's class reads (what the
checkpoint is, how it was trained, how to load it), the folder pushed, and each refusal's
sentence; a load's inputs refused by name. The expected texts are written out here, never
built with the code under test."""
import dataclasses

import pytest
from huggingface_hub import constants

from cnn_demo import checkpoints, hub
from cnn_demo.hub import HubError
from conftest import ROOT, build_cache_repo

BUNDLED = ROOT / "checkpoints" / "lenet5"


@pytest.fixture(scope="module")
def lenet():
    return checkpoints.load(BUNDLED)


def test_the_card_says_what_the_checkpoint_is_and_how_to_load_it(lenet):
    text = hub.card(lenet, "teacher/lenet5-mnist")
    assert text.startswith("---\nlibrary_name: pytorch\ntags: [image-classification, mnist, cnn-explorer, lenet5]\n")
    assert "\n# LeNet-5 trained on MNIST\n" in text
    assert "A LeNet-5 (LeCun's 1998 digit reader: C1 S2 C3 S4 C5 F6 OUTPUT) trained with" in text
    assert "| architecture | `lenet5` |\n" in text
    assert "| MNIST test accuracy | 0.9942 |\n" in text
    assert ("| training | arch=lenet5, epochs=20, batch_size=128, optimizer=adam, lr=0.003, schedule=onecycle, "
            "augment=True, train_size=0, seed=0, ") in text
    assert ("| input | 28×28 grayscale in [0, 1], ink = 1; normalised inside the model with mean 0.1307, "
            "std 0.3081 |\n") in text
    assert "*Load from the Hub* → `teacher/lenet5-mnist`." in text
    assert 'ck = checkpoints.load(snapshot_download("teacher/lenet5-mnist"))' in text


def test_a_card_without_a_record_says_so_and_a_pipe_cannot_break_its_table(lenet):
    bare = dataclasses.replace(lenet, meta={"arch": "lenet5", "test_accuracy": 1})
    text = hub.card(bare, "me/x")
    assert "| MNIST test accuracy | not recorded |\n" in text  # an accuracy that is not a fraction
    assert "| training | not recorded |\n" in text
    piped = dataclasses.replace(lenet, meta={"arch": "lenet5", "test_accuracy": 0.5,
                                             "train_config": {"note": "a|b", "epochs": 2}})
    text = hub.card(piped, "me/x")
    assert "| training | note=a/b, epochs=2 |\n" in text and "| MNIST test accuracy | 0.5000 |\n" in text


def test_the_folder_pushed_holds_the_weights_config_insights_and_card(lenet, tmp_path):
    folder = hub.prepare_upload(lenet, "teacher/lenet5-mnist", tmp_path / "up")
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "insights.safetensors",
                                                        "model.safetensors"]
    assert (folder / "insights.safetensors").read_bytes() == (BUNDLED / "insights.safetensors").read_bytes()
    assert (folder / "README.md").read_text() == hub.card(lenet, "teacher/lenet5-mnist")
    back = checkpoints.load(folder)
    assert back.meta["test_accuracy"] == 0.9942
    unsaved = dataclasses.replace(lenet, path=None)  # a checkpoint with no folder has no insights to copy
    folder = hub.prepare_upload(unsaved, "me/x", tmp_path / "up2")
    assert not (folder / "insights.safetensors").exists()


@pytest.mark.parametrize("repo,token,offline,said", [
    ("lenet5", "hf_x", False, "Write the repo as user/name (or organisation/name)."),
    ("me/x", "   ", False, "Pushing needs a Hugging Face token with write access (huggingface.co/settings/tokens)."),
    ("me/x", None, False, "Pushing needs a Hugging Face token with write access (huggingface.co/settings/tokens)."),
    ("me/x", "hf_x", True, "The Hub cannot be reached (offline mode): pushing needs the network."),
], ids=["no-namespace", "blank-token", "no-token", "offline"])
def test_each_push_refusal_is_its_sentence(lenet, monkeypatch, repo, token, offline, said):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", offline)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing there: a refusal must come first
    with pytest.raises(HubError) as e:
        hub.push(lenet, repo, token)
    assert str(e.value) == said


def test_a_load_with_unknown_inputs_is_refused_by_name_before_any_download(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_DEMO_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(HubError) as e:
        hub.load_from_hub("teacher/lenet5-mnist", inputs="x" * 30)
    assert str(e.value) == f"Inputs must be one of auto, mnist, raw, not {'x' * 20!r}."
    assert not (tmp_path / "hub").exists()


# ---- a load: the names it quotes, the inputs it is told, what it keeps --------------------------
def test_a_long_repo_id_is_quoted_to_its_first_100_characters():
    with pytest.raises(HubError) as e:
        hub.check_repo_id("!" * 150)
    assert str(e.value) == f"{'!' * 100!r} is not a Hub repo id: write it as user/name, e.g. 'ylecun/lenet5-mnist'."


def test_a_subfolder_keeps_every_character_but_its_outer_slashes_and_spaces():
    assert hub.check_subfolder(" /Xa/bX/ ") == "Xa/bX"


def test_offline_and_an_empty_http_error_get_their_sentences():
    from huggingface_hub import errors

    from test_hub_edges import _http

    class OfflineModeIsEnabled(ConnectionError):  # huggingface_hub's name for a call made offline
        pass
    assert str(hub._explain(OfflineModeIsEnabled("no"), "o/r", None)) == (
        "The Hub cannot be reached (offline or no network) and o/r is not in the local cache.")
    assert str(hub._explain(_http(errors.HfHubHTTPError, 500, ""), "o/r", None)) == (
        "The Hub answered with an error for o/r: ")


def _cached(cache, repo_id):
    build_cache_repo(cache, repo_id, {p.name: p.read_bytes() for p in BUNDLED.iterdir()}, sha="0123456789" * 4)


def test_a_load_over_the_cache_budget_keeps_what_it_loaded_and_evicts_the_rest(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_DEMO_HUB_CACHE", str(tmp_path / "hub"))
    _cached(tmp_path / "hub", "old/one")
    _cached(tmp_path / "hub", "teacher/lenet5-mnist")
    monkeypatch.setattr(hub, "HUB_CACHE_BUDGET", 1)  # less than any one repo
    ck = hub.load_from_hub("teacher/lenet5-mnist")
    assert ck.arch == "lenet5"
    assert sorted(p.name for p in (tmp_path / "hub").iterdir()) == ["models--teacher--lenet5-mnist"]


def test_a_load_told_its_inputs_uses_them_and_names_them(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_DEMO_HUB_CACHE", str(tmp_path / "hub"))
    _cached(tmp_path / "hub", "teacher/lenet5-mnist")
    ck = hub.load_from_hub("teacher/lenet5-mnist", inputs="raw")
    assert ck.name == "hub:teacher/lenet5-mnist@01234567~raw"
    assert (ck.model.mean, ck.model.std) == (0.0, 1.0)  # the bundled file says MNIST's; told raw, raw it is
