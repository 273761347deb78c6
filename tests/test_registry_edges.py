"""The registry's bounds at their edges (a folder of exactly the byte budget, one checkpoint short
of the count) and names taken on disk by folders the registry never loaded."""
import pytest

from cnn_demo import checkpoints
from cnn_demo import registry as registry_module
from cnn_demo.checkpoints import CheckpointError
from cnn_demo.limits import LimitError
from cnn_demo.models import build
from cnn_demo.registry import Entry, Registry, UnknownCheckpoint, folder_bytes
from conftest import ROOT


@pytest.fixture
def reg(tmp_path):
    return Registry(bundled=ROOT / "checkpoints", user_dir=tmp_path / "runs").scan()


def test_a_name_taken_by_a_folder_on_disk_is_not_claimed(reg):
    """A folder the registry did not load (another process's run, a half-copied one) still owns
    its name: a new run would fail to save into it at the end, after all its training."""
    (reg.user_dir / "taken").mkdir(parents=True)
    with pytest.raises(CheckpointError) as e:
        reg.claim("taken")
    assert str(e.value) == "The app already has a checkpoint named 'taken'; choose another name."
    (reg.user_dir / "my-lenet5-1").mkdir()
    assert reg.claim("", "lenet5") == "my-lenet5-2"  # the first free name skips the folder too


def test_a_claimed_name_is_free_again_once_released(reg):
    assert reg.claim("run") == "run"
    assert reg.claim("", "tinycnn") == "my-tinycnn-1"
    reg.release("run")
    reg.release("my-tinycnn-1")
    assert reg.claim("run") == "run" and reg.claim("", "tinycnn") == "my-tinycnn-1"


def _blob(folder, n):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "blob").write_bytes(b"\0" * n)


def test_the_byte_budget_at_its_edge(reg, monkeypatch):
    monkeypatch.setattr(registry_module, "SAVED_BUDGET", 1000)
    _blob(reg.user_dir / "a", 600)
    _blob(reg.user_dir / "a" / "deeper", 399)  # counted too: 999 bytes in all
    _blob(reg.user_dir / ".half.tmp", 10_000)  # an interrupted write does not count
    (reg.user_dir / "loose-file").write_bytes(b"\0" * 10_000)  # nor a file beside the folders
    assert folder_bytes(reg.user_dir / "a") == 999
    reg.release(reg.claim("b"))
    (reg.user_dir / "a" / "one-more").write_bytes(b"\0")  # 1,000 bytes: the budget is used up
    with pytest.raises(LimitError) as e:
        reg.claim("b")
    assert str(e.value) == ("Trained checkpoints use 1 KB of the app's 1 KB: no new run can start until its owner "
                            "removes some.")


def test_the_count_at_its_edge_with_runs_under_way(reg, monkeypatch):
    monkeypatch.setattr(registry_module, "MAX_SAVED_CHECKPOINTS", 3)
    for n in ("a", "b"):
        (reg.user_dir / n).mkdir(parents=True)
    (reg.user_dir / ".c.tmp").mkdir()  # not a checkpoint
    assert reg.claim("c") == "c"  # 2 on disk + this one: 3
    with pytest.raises(LimitError) as e:
        reg.claim("d")  # 2 on disk + 1 under way
    assert str(e.value) == ("The app keeps at most 3 trained checkpoints and has 2: nothing saved is deleted, so no "
                            "new run can start until its owner removes some (or push yours to the Hub first).")
    reg.release("c")
    assert reg.claim("d") == "d"


def test_claiming_needs_no_folder_yet(tmp_path):
    reg = Registry(bundled=ROOT / "checkpoints", user_dir=tmp_path / "not-yet").scan()
    assert reg.claim("first") == "first" and not reg.user_dir.exists()


def test_the_user_folder_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(registry_module.USER_ENV, str(tmp_path / "env-runs"))
    assert Registry().user_dir == tmp_path / "env-runs"
    assert Registry(user_dir=tmp_path / "given").user_dir == tmp_path / "given"


def test_scan_loads_only_visible_folders_with_weights(tmp_path):
    runs = tmp_path / "runs"
    checkpoints.save_new(build("lenet5"), runs, "good")
    checkpoints.save(build("lenet5"), runs / ".hidden")
    (runs / "empty").mkdir()
    (runs / "file.safetensors").write_bytes(b"")
    reg = Registry(bundled=ROOT / "checkpoints", user_dir=runs).scan()
    assert reg.names() == ["lenet5", "tinycnn", "good"] and reg.problems == []
    assert reg.get("good").source == "saved" and reg.get("lenet5").source == "bundled"


def test_no_bundled_folder_reserves_nothing(tmp_path):
    reg = Registry(bundled=tmp_path / "none", user_dir=tmp_path / "runs").scan()
    assert reg.reserved == set() and reg.names() == []
    assert reg.claim("lenet5") == "lenet5"


@pytest.mark.parametrize("name,source,said", [
    ("hub:x@00000000", "saved", "'hub:x@00000000': only Hub checkpoints are named hub:…."),
    ("plain", "hub", "'plain': only Hub checkpoints are named hub:…."),
    ("tinycnn", "saved", "'tinycnn' is the name of a bundled checkpoint; choose another."),
    ("lenet5", "bundled", "The app already has a checkpoint named 'lenet5'; nothing is replaced."),
])
def test_each_refused_name_gets_its_sentence(reg, name, source, said):
    reg._entries.pop("tinycnn")  # so that the reserved name is reached, not the taken one
    with pytest.raises(CheckpointError) as e:
        reg.add(checkpoints.Checkpoint(name, build("lenet5")), source)
    assert str(e.value) == said


def test_unknown_names(reg):
    with pytest.raises(UnknownCheckpoint) as e:
        reg.get(5)
    assert str(e.value) == "A checkpoint is named by text, e.g. 'lenet5'."
    with pytest.raises(UnknownCheckpoint) as e:
        reg.get("x" * 100)
    assert str(e.value) == f"No checkpoint named {'x' * 80!r}; the app knows: lenet5, tinycnn."
    with pytest.raises(UnknownCheckpoint) as e:
        reg.get("hub:gone/repo@12345678")
    assert str(e.value) == ("No checkpoint named 'hub:gone/repo@12345678' (Hub checkpoints not used for a while are "
                            "dropped: load it again); the app knows: lenet5, tinycnn.")
    empty = Registry(bundled=reg.user_dir / "none", user_dir=reg.user_dir)
    with pytest.raises(UnknownCheckpoint, match="the app knows: none."):
        empty.get("lenet5")


def test_an_entry_makes_each_key_once():
    calls = []
    e = Entry(checkpoints.Checkpoint("x", build("lenet5")), "saved")
    assert e.cached("a", lambda: calls.append("a") or 1) == 1
    assert e.cached("a", lambda: calls.append("again") or 2) == 1
    assert e.cached("b", lambda: calls.append("b") or 3) == 3
    assert calls == ["a", "b"]


def test_using_a_hub_checkpoint_keeps_it_and_a_bundled_one_keeps_its_place(reg, monkeypatch):
    monkeypatch.setattr(registry_module, "MAX_HUB_CHECKPOINTS", 2)
    for i in range(2):
        reg.add(checkpoints.Checkpoint(f"hub:r{i}@0", build("lenet5")), "hub")
    reg.get("lenet5")
    assert reg.names() == ["lenet5", "tinycnn", "hub:r0@0", "hub:r1@0"]
    reg.add(checkpoints.Checkpoint("hub:r0@0", build("lenet5")), "hub")  # loaded again: used
    reg.add(checkpoints.Checkpoint("hub:r2@0", build("lenet5")), "hub")
    assert reg.names() == ["lenet5", "tinycnn", "hub:r0@0", "hub:r2@0"]


def test_a_run_with_neither_name_nor_architecture_still_gets_a_free_name(reg):
    assert reg.claim("") == "my--1" and reg.claim("") == "my--2"


def test_the_default_user_folder_is_runs_beside_the_app(monkeypatch):
    monkeypatch.delenv(registry_module.USER_ENV, raising=False)
    assert Registry().user_dir == registry_module.ROOT / "runs"


def test_without_a_bundled_folder_the_saved_ones_are_still_scanned(tmp_path):
    checkpoints.save_new(build("lenet5"), tmp_path / "runs", "mine")
    reg = Registry(bundled=tmp_path / "none", user_dir=tmp_path / "runs").scan()
    assert reg.names() == ["mine"]


def test_a_saved_folder_with_a_bundled_name_is_skipped_and_the_rest_still_loaded(tmp_path):
    runs = tmp_path / "runs"
    for name in ("lenet5", "zz-after"):
        checkpoints.save_new(build("lenet5"), runs, name)
    reg = Registry(bundled=ROOT / "checkpoints", user_dir=runs).scan()
    assert reg.names() == ["lenet5", "tinycnn", "zz-after"] and reg.get("lenet5").source == "bundled"
    assert reg.problems == ["lenet5: the name of a bundled checkpoint; not loaded."]


def test_a_saved_checkpoint_is_named_by_its_folder(tmp_path):
    runs = tmp_path / "runs"
    checkpoints.save_new(build("lenet5"), runs, "first-name")
    (runs / "first-name").rename(runs / "renamed")
    reg = Registry(bundled=ROOT / "checkpoints", user_dir=runs).scan()
    assert reg.names() == ["lenet5", "tinycnn", "renamed"] and reg.get("renamed").ck.name == "renamed"
