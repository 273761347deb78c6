"""checkpoints.py at its edges: every metadata reader at its bound and one past it, the files
`save` writes read back byte for byte, temporary files beside their target, a config of exactly
256 KB and one byte more, and the tensor names a refusal quotes."""
import json
import os

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from cnn_demo import checkpoints
from cnn_demo.checkpoints import CheckpointError, check_state, clean_meta
from cnn_demo.models import build


@pytest.mark.parametrize("field,value,kept", [
    ("name", "x" * 200, "x" * 200), ("name", "x" * 201, None), ("name", 2024, "2024"), ("name", 1.5, "1.5"),
    ("name", True, None), ("name", None, None),
    ("test_accuracy", 0, 0.0), ("test_accuracy", 1, 1.0), ("test_accuracy", 0.5, 0.5), ("test_accuracy", 1.0001, None),
    ("test_accuracy", -0.0001, None), ("test_accuracy", True, None), ("test_accuracy", "0.9", None),
    ("epochs", 0, 0), ("epochs", 2**31 - 1, 2**31 - 1), ("epochs", 2**31, None), ("epochs", -1, None),
    ("epochs", 3.0, None), ("epochs", True, None),
    ("train_seconds", 0, 0.0), ("train_seconds", 1e7 - 1, 1e7 - 1), ("train_seconds", 1e7, None),
    ("train_seconds", -0.5, None), ("train_seconds", False, None), ("train_seconds", "12", None),
    ("mean", 999_999.5, 999_999.5), ("mean", -999_999.5, -999_999.5), ("mean", 1e6, None), ("mean", -1e6, None),
    ("mean", True, None), ("mean", "0.1", None), ("mean", 0, 0.0),
    ("widths", [16, 32, 1, 2], [16, 32, 1, 2]), ("widths", [1, 2, 3, 4, 5], None), ("widths", [16, True], None),
    ("widths", [16, 32.0], None), ("widths", (16, 32), None), ("widths", "16,32", None), ("widths", [], []),
    ("train_config", {"optimizer": "a" * 40}, {"optimizer": "a" * 40}), ("train_config", {"optimizer": "a" * 41}, None),
    ("train_config", {"epochs": 3, "lr": 0.1, "drawn": True}, {"epochs": 3, "lr": 0.1, "drawn": True}),
    ("train_config", {"widths": [24, 48]}, {"widths": [24, 48]}), ("train_config", {"widths": [1, 2, 3, 4, 5]}, None),
    ("train_config", {"epochs": None}, None), ("train_config", {"not_a_field": 1}, None), ("train_config", [1], None),
])
def test_every_metadata_reader_at_its_edge(field, value, kept):
    meta, notes = clean_meta({field: value})
    if kept is None:
        assert meta == {} and notes == [f"its {field} ({str(value)[:30]!r}) is not of the expected type and was ignored"]
    else:
        assert meta == {field: kept} and type(meta[field]) is type(kept) and notes == []


def test_unknown_fields_are_ignored_without_a_note_and_long_ones_are_cut_in_it():
    assert clean_meta({"colour": "blue", "epochs": 2}) == ({"epochs": 2}, [])
    _, notes = clean_meta({"name": "y" * 300})
    assert notes == [f"its name ({'y' * 30!r}) is not of the expected type and was ignored"]


@pytest.mark.parametrize("name", ["a..b", "..", "a/b", "", ".hidden", "x" * 65, "-dash"])
def test_names_that_could_escape_or_hide_are_refused_with_the_sentence(name):
    with pytest.raises(CheckpointError) as e:
        checkpoints.check_name(name)
    assert str(e.value) == (f"{name.strip()!r} is not a valid checkpoint name: use 1–64 letters, digits, '-', '_' or "
                            "'.', starting with a letter or digit.")


def test_names_at_their_length_bound_and_with_single_dots_are_fine():
    assert checkpoints.check_name(" " + "x" * 64 + " ") == "x" * 64
    assert checkpoints.check_name("v1.2_final-b") == "v1.2_final-b"


def test_save_writes_what_it_says_into_a_new_nested_folder(tmp_path):
    model = build("tinycnn", widths=(8, 16), mean=0.25, std=0.5).double()
    folder = checkpoints.save(model, tmp_path / "a" / "b" / "c", {"epochs": 3, "name": "mine", "widths": [1, 1]})
    with safe_open(str(folder / "model.safetensors"), framework="pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    assert meta["arch"] == "tinycnn" and meta["dataset"] == "MNIST" and meta["name"] == "mine"
    assert json.loads(meta["mean"]) == 0.25 and json.loads(meta["std"]) == 0.5 and json.loads(meta["epochs"]) == 3
    assert json.loads(meta["widths"]) == [8, 16]  # the model's own, whatever the meta said
    assert meta["date"].endswith("+00:00") and len(meta["date"]) == 25  # UTC, to the second
    assert set(tensors) == set(model.state_dict())
    assert all(t.dtype == torch.float32 and t.device.type == "cpu" for t in tensors.values())
    text = (folder / "config.json").read_text()
    cfg = json.loads(text)
    assert text == json.dumps(cfg, indent=2, sort_keys=True) + "\n"
    assert {k: v for k, v in cfg.items()} == {k: (v if k in ("arch", "dataset", "name", "date", "torch", "safetensors")
                                                  else json.loads(v)) for k, v in meta.items()}
    assert list(folder.iterdir()) and not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_writes_go_through_a_temporary_file_beside_the_target(tmp_path, monkeypatch):
    replaced = []
    real = os.replace

    def note(src, dst):
        replaced.append((os.fspath(src), os.fspath(dst)))
        return real(src, dst)
    monkeypatch.setattr(checkpoints.os, "replace", note)
    checkpoints.save(build("lenet5"), tmp_path / "ck")
    assert [os.path.basename(d) for _, d in replaced] == ["model.safetensors", "config.json"]
    for src, dst in replaced:
        name = os.path.basename(dst)
        assert os.path.dirname(src) == os.path.dirname(dst)  # same folder: the rename is atomic
        assert os.path.basename(src).startswith(f".{name}.") and src.endswith(".tmp")


def test_save_new_works_aside_in_a_hidden_temporary_folder_and_names_the_checkpoint(tmp_path):
    seen = []

    def extra(folder):
        seen.append(folder)
        (folder / "insights.safetensors").write_bytes(b"x")
    target = checkpoints.save_new(build("lenet5"), tmp_path / "new" / "parent", "run-1", {"epochs": 2}, extra)
    assert target == tmp_path / "new" / "parent" / "run-1"
    (tmp,) = seen
    assert tmp.parent == target.parent and tmp.name.startswith(".run-1.") and tmp.name.endswith(".tmp")
    assert not tmp.exists() and (target / "insights.safetensors").read_bytes() == b"x"
    assert checkpoints.load(target).meta["name"] == "run-1" and checkpoints.load(target).name == "run-1"
    assert sorted(p.name for p in target.parent.iterdir()) == ["run-1"]


def test_save_new_never_overwrites_and_says_so(tmp_path):
    checkpoints.save_new(build("lenet5"), tmp_path, "taken")
    with pytest.raises(CheckpointError) as e:
        checkpoints.save_new(build("lenet5"), tmp_path, "taken")
    assert str(e.value) == ("A checkpoint named 'taken' already exists; saved checkpoints are never overwritten, so "
                            "choose another name.")


def test_a_failure_in_extra_leaves_nothing_and_its_own_error_comes_through(tmp_path):
    def extra(folder):
        import shutil
        shutil.rmtree(folder)  # even a step that removed the folder itself
        raise ValueError("insights failed")
    with pytest.raises(ValueError, match="insights failed"):
        checkpoints.save_new(build("lenet5"), tmp_path, "x", extra=extra)
    assert list(tmp_path.iterdir()) == []


def _bare(tmp_path, config: bytes | None):
    """A LeNet-5 state_dict with no metadata, and a config.json of the given bytes."""
    folder = tmp_path / "bare"
    folder.mkdir(exist_ok=True)
    save_file({k: v.contiguous() for k, v in build("lenet5").state_dict().items()}, folder / "model.safetensors")
    if config is not None:
        (folder / "config.json").write_bytes(config)
    return folder


def _config_of_size(n: int) -> bytes:
    head = b'{"arch": "lenet5", "mean": 0.1307, "std": 0.3081, "pad": "'
    return head + b"x" * (n - len(head) - 2) + b'"}'


def test_a_config_of_exactly_256_kb_is_read_and_one_byte_more_is_refused(tmp_path):
    ck = checkpoints.load(_bare(tmp_path, _config_of_size(256 * 1024)))
    assert ck.arch == "lenet5" and ck.found == []  # the config said the architecture: nothing recognised
    with pytest.raises(CheckpointError) as e:
        checkpoints.load(_bare(tmp_path, _config_of_size(256 * 1024 + 1)))
    assert str(e.value) == "config.json is over 256 KB; a model's config is a few lines."


@pytest.mark.parametrize("config,said", [(b"{not json", "config.json is not valid JSON."),
                                         (b"\xff\xfe{}", "config.json is not valid JSON.")])
def test_a_config_that_cannot_be_read_is_named(tmp_path, config, said):
    with pytest.raises(CheckpointError) as e:
        checkpoints.load(_bare(tmp_path, config))
    assert str(e.value) == said


def test_a_config_that_is_not_an_object_says_nothing(tmp_path, monkeypatch, mnist_dir):
    monkeypatch.setenv("CNN_DEMO_DATA", str(mnist_dir))
    ck = checkpoints.load(_bare(tmp_path, b'["arch", "tinycnn"]'), inputs="raw")
    assert ck.arch == "lenet5" and ck.found[0].startswith("Recognised as LeNet-5")


def test_a_refusal_quotes_at_most_eight_names_plainly_or_briefly():
    model = build("lenet5")
    want = list(model.state_dict())
    assert len(want) == 10
    with pytest.raises(CheckpointError) as e:
        check_state(model, {}, "f.safetensors")
    assert str(e.value) == ("f.safetensors does not match LeNet-5: missing " + ", ".join(want[:8]) + " and 2 more.")
    eight = {k: v for k, v in model.state_dict().items() if k not in want[8:]}
    with pytest.raises(CheckpointError) as e:
        check_state(model, eight, "f")
    assert str(e.value) == f"f does not match LeNet-5: missing {want[8]}, {want[9]}."
    odd = dict(model.state_dict())
    forty, forty_one = "a" * 38 + "_.", "b" * 41
    odd.update({forty: torch.zeros(1), forty_one: torch.zeros(1), "has space": torch.zeros(1)})
    with pytest.raises(CheckpointError) as e:
        check_state(model, odd, "f")
    assert str(e.value) == f"f does not match LeNet-5: unexpected {forty}, {'b' * 40!r}, 'has space'."


def test_exactly_eight_unexpected_names_have_no_count():
    model = build("lenet5")
    sd = dict(model.state_dict())
    sd.update({f"x{i}": torch.zeros(1) for i in range(8)})
    with pytest.raises(CheckpointError) as e:
        check_state(model, sd, "f")
    assert str(e.value) == "f does not match LeNet-5: unexpected " + ", ".join(f"x{i}" for i in range(8)) + "."
