"""checkpoints.load as a file decides it, each rule at its edge: which file of a folder is the
checkpoint, the size and header bounds at exactly their value and one past, the normalisation
a file states (or half states) against what the caller tells it, the plausible range at its
ends, the name and the folder a checkpoint keeps, and each refusal's sentence written out."""
import json

import pytest
import torch
from safetensors.torch import save as st_save

from cnn_demo import checkpoints
from cnn_demo.checkpoints import CheckpointError
from cnn_demo.limits import MAX_WEIGHT_VALUE, MAX_WEIGHTS_BYTES
from cnn_demo.models import MNIST_MEAN, MNIST_STD, build


def state(arch="lenet5"):
    torch.manual_seed(0)
    return {k: v.clone() for k, v in build(arch).state_dict().items()}


def write(path, tensors=None, **meta):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(st_save(tensors or state(), metadata={k: v if isinstance(v, str) else json.dumps(v)
                                                           for k, v in meta.items()}))
    return path


# ---- which file ---------------------------------------------------------------------------
def test_a_folders_one_safetensors_file_is_its_checkpoint_whatever_its_name(tmp_path):
    write(tmp_path / "ck" / "weights-v2.safetensors", arch="lenet5", mean=0.1307, std=0.3081)
    ck = checkpoints.load(tmp_path / "ck")
    assert ck.arch == "lenet5" and ck.name == "ck" and ck.path == tmp_path / "ck"


@pytest.mark.parametrize("files,said", [
    (["a.safetensors", "b.safetensors"], "{p} holds several .safetensors files and no model.safetensors: name one."),
    ([], "{p} holds no model.safetensors."),
    (["a.pt", "b.bin"], "{p} holds only pickled weights (a.pt, b.bin); they are refused, never loaded: "
                        "convert them to safetensors."),
])
def test_a_folder_without_one_checkpoint_gets_its_sentence(tmp_path, files, said):
    folder = tmp_path / "ck"
    folder.mkdir()
    for name in files:
        (folder / name).write_bytes(b"x" * 16)
    with pytest.raises(CheckpointError) as e:
        checkpoints.load(folder)
    assert str(e.value) == said.format(p=folder)


def test_a_pickle_and_a_missing_path_get_their_sentences(tmp_path):
    (tmp_path / "w.pt").write_bytes(b"x")
    with pytest.raises(CheckpointError) as e:
        checkpoints.load(tmp_path / "w.pt")
    assert str(e.value) == ("w.pt is a pickled PyTorch file; pickles can run code and are refused, never loaded: "
                            "use a .safetensors checkpoint.")
    with pytest.raises(CheckpointError) as e:
        checkpoints.load(tmp_path / "nothing.safetensors")
    assert str(e.value) == f"No checkpoint at {tmp_path / 'nothing.safetensors'}."


# ---- the size and the header at their bounds --------------------------------------------------
def test_a_weights_file_of_exactly_the_bound_is_read_and_one_byte_more_refused(tmp_path):
    at = tmp_path / "at.safetensors"
    with open(at, "wb") as f:
        f.truncate(MAX_WEIGHTS_BYTES)  # all zeros: a header of length 0, read past the size check
    with pytest.raises(CheckpointError) as e:
        checkpoints.load(at)
    assert "not a valid safetensors file" in str(e.value)
    over = tmp_path / "over.safetensors"
    with open(over, "wb") as f:
        f.truncate(MAX_WEIGHTS_BYTES + 1)
    with pytest.raises(CheckpointError) as e:
        checkpoints.load(over)
    assert str(e.value) == ("over.safetensors is 16 MB; these networks are under 1 MB, and files over 16 MB "
                            "are refused.")


def test_a_header_that_claims_the_whole_rest_of_the_file_is_read_and_one_byte_more_refused(tmp_path):
    body = b"{}" + b" " * 30
    ok = tmp_path / "ok.safetensors"
    ok.write_bytes(len(body).to_bytes(8, "little") + body)  # an empty, valid safetensors file
    with pytest.raises(CheckpointError) as e:
        checkpoints.load(ok)
    assert "truncated" not in str(e.value)  # read: it holds no tensors, which is another sentence
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes((len(body) + 1).to_bytes(8, "little") + body)
    with pytest.raises(CheckpointError) as e:
        checkpoints.load(bad)
    assert str(e.value) == ("bad.safetensors is not a valid safetensors file (truncated, or its header claims more "
                            "bytes than the file holds).")


# ---- the normalisation: stated, half stated, told ---------------------------------------------
def test_what_a_file_states_is_what_the_checkpoint_keeps(tmp_path):
    f = write(tmp_path / "ck" / "model.safetensors", arch="lenet5", mean=0.2, std=0.5, name="given")
    ck = checkpoints.load(f.parent)
    assert (ck.model.mean, ck.model.std) == (0.2, 0.5)
    assert (ck.meta["arch"], ck.meta["mean"], ck.meta["std"]) == ("lenet5", 0.2, 0.5)
    assert ck.name == "given" and ck.path == f.parent and ck.found == []
    assert checkpoints.load(f.parent, name="other").name == "other"


def test_a_file_that_states_only_its_mean_gets_mnists_std(tmp_path):
    f = write(tmp_path / "ck" / "model.safetensors", arch="lenet5", mean=0.2)
    ck = checkpoints.load(f.parent)
    assert (ck.model.mean, ck.model.std) == (0.2, MNIST_STD)
    f = write(tmp_path / "ck2" / "model.safetensors", arch="lenet5", std=0.5)
    ck = checkpoints.load(f.parent)
    assert (ck.model.mean, ck.model.std) == (MNIST_MEAN, 0.5)


@pytest.mark.parametrize("inputs,want", [("mnist", (MNIST_MEAN, MNIST_STD)), ("raw", (0.0, 1.0)),
                                         ("auto", (0.2, 0.5))])
def test_inputs_told_override_what_the_file_says(tmp_path, inputs, want):
    f = write(tmp_path / "ck" / "model.safetensors", arch="lenet5", mean=0.2, std=0.5)
    ck = checkpoints.load(f.parent, inputs=inputs)
    assert (ck.model.mean, ck.model.std) == want and (ck.meta["mean"], ck.meta["std"]) == want


def test_unknown_inputs_are_refused_by_their_first_20_characters(tmp_path):
    with pytest.raises(CheckpointError) as e:
        checkpoints.load(tmp_path, inputs="y" * 30)
    assert str(e.value) == f"Inputs must be one of auto, mnist, raw, not {'y' * 20!r}."


def test_a_config_is_read_only_when_the_weights_do_not_say_their_architecture(tmp_path):
    f = write(tmp_path / "ck" / "model.safetensors", arch="lenet5")
    (f.parent / "config.json").write_text(json.dumps({"mean": 0.5, "std": 0.5}))
    ck = checkpoints.load(f.parent)
    assert ck.model.mean != 0.5  # the weights say their architecture: the config is not theirs to finish
    assert ck.found  # nothing that counts said the inputs: they were worked out, and it says so
    assert ck.found[-1][0].isupper() and ck.found[-1].endswith(".") and not ck.found[-1].endswith("..")


@pytest.mark.parametrize("mean,std", [(0.0, 0.01), (1.0, 1.0)])
def test_a_normalisation_at_the_ends_of_the_plausible_range_loads(tmp_path, mean, std):
    f = write(tmp_path / "ck" / "model.safetensors", arch="lenet5", mean=mean, std=std)
    assert (checkpoints.load(f.parent).model.mean, checkpoints.load(f.parent).model.std) == (mean, std)


@pytest.mark.parametrize("mean,std", [(1.001, 0.5), (0.5, 1.001), (0.5, 0.0099), (-0.001, 0.5)])
def test_a_normalisation_past_the_plausible_range_gets_the_sentence(tmp_path, mean, std):
    f = write(tmp_path / "ck" / "model.safetensors", arch="lenet5", mean=mean, std=std)
    with pytest.raises(CheckpointError) as e:
        checkpoints.load(f.parent)
    assert str(e.value) == (f"model.safetensors has an implausible normalisation (mean {mean:.4g}, std {std:.4g}; "
                            "expected a mean in [0, 1] and a std in [0.01, 1]).")


# ---- the weights themselves -----------------------------------------------------------------
def test_weights_at_the_value_bound_load_and_past_it_get_the_sentence(tmp_path):
    t = state()
    t["C1.bias"][0] = MAX_WEIGHT_VALUE
    f = write(tmp_path / "at" / "model.safetensors", t, arch="lenet5", mean=0.1307, std=0.3081)
    assert checkpoints.load(f.parent).model.C1.bias[0].item() == MAX_WEIGHT_VALUE
    t["C1.bias"][0] = MAX_WEIGHT_VALUE * 1.01
    t["C3.weight"] = t["C3.weight"].to(torch.int32)
    f = write(tmp_path / "over" / "model.safetensors", t, arch="lenet5", mean=0.1307, std=0.3081)
    with pytest.raises(CheckpointError) as e:
        checkpoints.load(f.parent)
    problems = {"C1.bias holds values beyond ±10000 (trained weights of these networks stay within ±10)",
                "C3.weight has dtype torch.int32, expected a float"}
    head = "model.safetensors does not match LeNet-5: "
    assert str(e.value).startswith(head) and str(e.value).endswith(".")
    assert set(str(e.value)[len(head):-1].split("; ")) == problems


def test_extra_tensor_names_are_shown_as_written_when_plain(tmp_path):
    t = {**state(), "extra_block.weight_v2": torch.zeros(1)}
    f = write(tmp_path / "ck" / "model.safetensors", t, arch="lenet5", mean=0.1307, std=0.3081)
    with pytest.raises(CheckpointError) as e:
        checkpoints.load(f.parent)
    assert str(e.value) == "model.safetensors does not match LeNet-5: unexpected extra_block.weight_v2."
