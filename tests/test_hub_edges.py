"""hub.py's checks at their edges, the download plan at each size bound and one byte past it,
the cache's budget at its edge, and a sentence for each error huggingface_hub raises (real
error objects of huggingface_hub, built as it builds them)."""
import os

import pytest

from cnn_demo import hub
from cnn_demo.checkpoints import CheckpointError
from cnn_demo.hub import HubError, check_repo_id, check_revision, check_subfolder, name_for, plan
from cnn_demo.limits import MAX_CONFIG_BYTES, MAX_INSIGHTS_BYTES, MAX_WEIGHTS_BYTES, LimitError


@pytest.mark.parametrize("repo", ["a", "a/b", "A" * 96, "a" * 96 + "/" + "b" * 96, " user/name ", "u-1/n_2.x"])
def test_repo_ids_up_to_their_bounds(repo):
    assert check_repo_id(repo) == repo.strip()


@pytest.mark.parametrize("repo", ["", None, 5, "a" * 97, "a/" + "b" * 97, "a/b/c", "a..b/c", "a/b..c", "-a/b", "a/.b",
                                  "a b/c"])
def test_repo_ids_past_their_bounds_get_the_sentence(repo):
    with pytest.raises(HubError) as e:
        check_repo_id(repo)
    shown = (repo.strip() if isinstance(repo, str) else "")[:100]
    assert str(e.value) == f"{shown!r} is not a Hub repo id: write it as user/name, e.g. 'ylecun/lenet5-mnist'."


@pytest.mark.parametrize("rev,got", [(None, None), ("", None), ("  ", None), ("main", "main"), (" v1.0 ", "v1.0"),
                                     ("a" * 100, "a" * 100), ("refs/pr/1", "refs/pr/1")])
def test_revisions_up_to_their_bounds(rev, got):
    assert check_revision(rev) == got


@pytest.mark.parametrize("rev", ["a" * 101, "a..b", "main.lock", "/main", "a//b", "-x", "a b"])
def test_revisions_past_their_bounds_get_the_sentence(rev):
    with pytest.raises(HubError) as e:
        check_revision(rev)
    assert str(e.value) == f"{rev[:100]!r} is not a revision: give a branch, tag or commit hash, e.g. 'main'."


def test_a_revision_that_is_not_text_gets_its_sentence():
    with pytest.raises(HubError, match="^The revision must be text: a branch, tag or commit.$"):
        check_revision(3)


@pytest.mark.parametrize("sub,got", [(None, ""), ("", ""), ("/a/b/", "a/b"), (" x ", "x"), ("a" * 200, "a" * 200),
                                     ("a.b/c-d_e", "a.b/c-d_e"), ("a..b", "a..b")])
def test_subfolders_up_to_their_bounds(sub, got):
    assert check_subfolder(sub) == got


@pytest.mark.parametrize("sub", ["a" * 201, "a/../b", "..", "a//b", "a b", 5])
def test_subfolders_past_their_bounds_get_the_sentence(sub):
    with pytest.raises(HubError) as e:
        check_subfolder(sub)
    shown = sub.strip().strip("/") if isinstance(sub, str) else None
    assert str(e.value) == f"{str(shown)[:100]!r} is not a folder name inside the repo."


def test_names_carry_the_repo_the_folder_the_commit_and_the_inputs():
    assert name_for("a/b", "", "0123456789abcdef") == "hub:a/b@01234567"
    assert name_for("a/b", "sub/dir", "f" * 40, "raw") == "hub:a/b/sub/dir@ffffffff~raw"
    assert name_for("a/b", "", "f" * 40, "mnist") == "hub:a/b@ffffffff~mnist"


def test_a_visitors_token_or_none_never_the_servers():
    assert hub._token(" hf_abc ") == "hf_abc"
    assert hub._token("") is False and hub._token("   ") is False and hub._token(None) is False and hub._token(5) is False


# ---- the plan: which files, by their listed sizes ------------------------------------------
def test_weights_of_exactly_the_bound_are_planned_and_one_byte_more_refused():
    assert plan({"model.safetensors": MAX_WEIGHTS_BYTES}) == ({"weights": "model.safetensors"}, [])
    with pytest.raises(LimitError) as e:
        plan({"model.safetensors": MAX_WEIGHTS_BYTES + 1})
    assert str(e.value) == ("model.safetensors is 16 MB; these networks are under 1 MB and the app downloads weights "
                            "files of at most 16 MB.")
    with pytest.raises(LimitError, match="^w.safetensors is of unknown size;"):
        plan({"w.safetensors": None})


def test_config_and_insights_of_exactly_their_bounds_are_planned_and_one_byte_more_noted():
    files = {"model.safetensors": 10, "config.json": MAX_CONFIG_BYTES, "insights.safetensors": MAX_INSIGHTS_BYTES}
    assert plan(files) == ({"weights": "model.safetensors", "config": "config.json",
                            "insights": "insights.safetensors"}, [])
    files = {"model.safetensors": 10, "config.json": MAX_CONFIG_BYTES + 1, "insights.safetensors": None}
    assert plan(files) == ({"weights": "model.safetensors"}, [
        "its config.json (256 KB) is over the 256 KB limit and was not downloaded",
        "its insights.safetensors (0 KB) is over the 8 MB limit and was not downloaded"])


def test_the_plan_inside_a_subfolder_and_the_one_safetensors_file_there():
    files = {"model.safetensors": 1, "v2/weights.safetensors": 5, "v2/insights.safetensors": 5, "v2/deeper/x.safetensors": 1,
             "v2/config.json": 3}
    assert plan(files, "v2", "o/r") == ({"weights": "v2/weights.safetensors", "config": "v2/config.json",
                                         "insights": "v2/insights.safetensors"}, [])
    assert plan({"insights.safetensors": 1, "net.safetensors": 2}) == (  # the insights are never the weights
        {"weights": "net.safetensors", "insights": "insights.safetensors"}, [])


@pytest.mark.parametrize("files,sub,said", [
    ({"a.safetensors": 1, "b.safetensors": 1}, "", "o/r holds several .safetensors files (a.safetensors, "
     "b.safetensors) and no model.safetensors: this app loads one small network."),
    ({"x/model.bin": 1, "x/model.pt": 1}, "x", "o/r/x offers only pickled weights (model.bin, model.pt); they can "
     "run code and are refused, never downloaded: the repo needs a .safetensors file."),
    ({"README.md": 1, "insights.safetensors": 1}, "", "o/r holds no .safetensors checkpoint."),
    ({"a/b/model.safetensors": 1, "c/model.safetensors": 1}, "", "o/r holds no .safetensors checkpoint (there are "
     "some in a, c: give that as the subfolder)."),
    ({"s/a/model.safetensors": 1}, "s", "o/r/s holds no .safetensors checkpoint (there are some in a: give that as "
     "the subfolder)."),
])
def test_a_repo_without_one_checkpoint_gets_its_sentence(files, sub, said):
    with pytest.raises(CheckpointError) as e:
        plan(files, sub, "o/r")
    assert str(e.value) == said


# ---- the cache's budget ------------------------------------------------------------------
def _repo(cache, name, n, used_at):
    d = cache / f"models--{name}"
    (d / "blobs").mkdir(parents=True)
    (d / "blobs" / "x").write_bytes(b"\0" * n)
    (d / hub.USED).touch()
    os.utime(d / hub.USED, (used_at, used_at))
    return d


def test_a_cache_of_exactly_its_budget_keeps_everything(tmp_path):
    for i, name in enumerate(("a", "b", "c")):
        _repo(tmp_path, name, 1000, 100 + i)
    assert hub.evict(tmp_path, 3000) == []
    assert hub.evict(tmp_path, 2999) == ["models--a"]  # one byte over: the least recently used goes
    assert sorted(p.name for p in tmp_path.glob("models--*")) == ["models--b", "models--c"]


def test_eviction_goes_by_last_use_skips_the_kept_repo_and_stops_within_budget(tmp_path):
    old = _repo(tmp_path, "old", 1000, 100)
    _repo(tmp_path, "mid", 1000, 200)
    _repo(tmp_path, "new", 1000, 300)
    never = tmp_path / "models--never"  # never loaded through the app: oldest of all
    (never / "blobs").mkdir(parents=True)
    (never / "blobs" / "x").write_bytes(b"\0" * 1000)
    (tmp_path / "models--file").write_bytes(b"\0" * 5000)  # not a repo folder: not counted
    assert hub.evict(tmp_path, 2000, keep=old) == ["models--never", "models--mid"]
    assert sorted(p.name for p in tmp_path.glob("models--*")) == ["models--file", "models--new", "models--old"]


# ---- every error huggingface_hub raises gets a sentence -------------------------------------
def _http(cls, status, message="boom"):
    from huggingface_hub.errors import HfHubHTTPError
    import httpx2
    response = httpx2.Response(status, request=httpx2.Request("GET", "http://hub.invalid/api"))
    assert issubclass(cls, HfHubHTTPError)
    return cls(message, response=response)


def test_each_hub_error_gets_its_sentence():
    from huggingface_hub import errors
    cases = [
        (_http(errors.GatedRepoError, 403), "o/r is gated: accept its terms on huggingface.co and give a token with access."),
        (_http(errors.RepositoryNotFoundError, 404), "No model repo o/r on the Hub (or it is private: give a token with access)."),
        (_http(errors.RevisionNotFoundError, 404), "o/r has no revision 'v2'."),
        (errors.LocalEntryNotFoundError("x"), "The Hub cannot be reached (offline or no network) and o/r at revision 'v2' "
                                              "is not in the local cache."),
        (_http(errors.EntryNotFoundError, 404) if issubclass(errors.EntryNotFoundError, errors.HfHubHTTPError)
         else errors.EntryNotFoundError("x"), "o/r at revision 'v2' lost a file while it was being downloaded; try again."),
        (_http(errors.HfHubHTTPError, 401), "The Hub refused the token (401): check that it is valid."),
        (_http(errors.HfHubHTTPError, 403), "The Hub refused access to o/r (403): the token lacks the rights needed."),
        (_http(errors.HfHubHTTPError, 500, "\n  \nServer error 500\nmore"), "The Hub answered with an error for o/r at "
                                                                            "revision 'v2': Server error 500"),
        (ConnectionError("down"), "The Hub cannot be reached (ConnectionError); check the network and try again."),
    ]
    for err, said in cases:
        assert str(hub._explain(err, "o/r", "v2")) == said, type(err).__name__


def test_an_error_without_a_revision_names_none():
    from huggingface_hub import errors
    assert str(hub._explain(errors.LocalEntryNotFoundError("x"), "o/r", None)) == (
        "The Hub cannot be reached (offline or no network) and o/r is not in the local cache.")
    long = _http(errors.HfHubHTTPError, 502, "x" * 500)
    assert str(hub._explain(long, "o/r", None)) == "The Hub answered with an error for o/r: " + "x" * 160


def test_the_cache_folder_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(hub.CACHE_ENV, str(tmp_path / "c"))
    assert hub.cache_dir() == tmp_path / "c"
    monkeypatch.delenv(hub.CACHE_ENV)
    assert hub.cache_dir() == hub.Path.home() / ".cache" / "cnn_demo" / "hub"
    monkeypatch.setenv("HF_ENDPOINT", "")
    assert hub.endpoint() is None
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    assert hub.endpoint() == "http://127.0.0.1:9"
