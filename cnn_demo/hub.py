"""Checkpoints on the Hugging Face Hub: load a model folder by repo id, push one to share.

Loading asks the Hub for the repo's file list with sizes first, then downloads only what a
checkpoint needs — its weights, its `config.json` and its insights, each within a size
limit — so a repo full of large files costs nothing; a repo that offers only pickles is
refused without fetching them. Everything goes through the same `checkpoints.load` as
bundled and local folders, so the same strict checks apply.

Downloads go to the app's own cache (`CNN_DEMO_HUB_CACHE`, default
`~/.cache/cnn_demo/hub`), kept within `HUB_CACHE_BUDGET` by deleting the least recently
used repos; nothing else's cache is touched. A visitor's Hub calls carry the visitor's own
token or none — never the server's, which `huggingface_hub` would otherwise send — and a
token is used for one call and never logged, echoed or stored.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from pathlib import Path

from . import checkpoints
from .checkpoints import Checkpoint, CheckpointError
from .limits import (HUB_CACHE_BUDGET, MAX_CONFIG_BYTES, MAX_INSIGHTS_BYTES, MAX_WEIGHTS_BYTES, LimitError,
                     megabytes)
from .models import ARCHS

REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}(/[A-Za-z0-9][A-Za-z0-9_.-]{0,95})?$")
SUBFOLDER_RE = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
REVISION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)*$")  # a branch, tag or commit
CACHE_ENV = "CNN_DEMO_HUB_CACHE"
INSIGHTS = "insights.safetensors"
USED = ".cnn_demo_used"  # touched in a repo's cache folder each time it is loaded: the eviction order
_lock = threading.Lock()  # one load at a time touches the cache (eviction never races a download)


class HubError(RuntimeError):
    """The Hub could not give a usable checkpoint; the message says why and what to do."""


def check_repo_id(repo_id: str) -> str:
    repo_id = (repo_id or "").strip() if isinstance(repo_id, str) else ""
    if not REPO_RE.match(repo_id) or ".." in repo_id:
        raise HubError(f"{repo_id[:100]!r} is not a Hub repo id: write it as user/name, e.g. "
                       "'ylecun/lenet5-mnist'.")
    return repo_id


def check_revision(revision: str | None) -> str | None:
    """A branch, tag or commit hash, or None for the default branch."""
    revision = (revision or "").strip() if isinstance(revision, str) or revision is None else None
    if revision is None:
        raise HubError("The revision must be text: a branch, tag or commit.")
    if not revision:
        return None
    if len(revision) > 100 or not REVISION_RE.match(revision) or ".." in revision or revision.endswith(".lock"):
        raise HubError(f"{revision[:100]!r} is not a revision: give a branch, tag or commit hash, e.g. 'main'.")
    return revision


def check_subfolder(subfolder: str | None) -> str:
    subfolder = (subfolder or "").strip().strip("/") if isinstance(subfolder, str) or subfolder is None else None
    if subfolder is None or subfolder and (len(subfolder) > 200 or not SUBFOLDER_RE.match(subfolder)
                                            or ".." in subfolder.split("/")):
        raise HubError(f"{str(subfolder)[:100]!r} is not a folder name inside the repo.")
    return subfolder


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "cnn_demo" / "hub")


def endpoint() -> str | None:
    return os.environ.get("HF_ENDPOINT") or None


def _token(token: str | None):
    """The visitor's own token, or False: with None, huggingface_hub would send the server's."""
    return token.strip() if isinstance(token, str) and token.strip() else False


def _offline() -> bool:
    from huggingface_hub import constants
    return bool(constants.HF_HUB_OFFLINE)


def _explain(e: Exception, repo_id: str, revision: str | None) -> HubError:
    from huggingface_hub import errors
    rev = f" at revision {revision!r}" if revision else ""
    if isinstance(e, errors.GatedRepoError):
        return HubError(f"{repo_id} is gated: accept its terms on huggingface.co and give a token with access.")
    if isinstance(e, errors.RepositoryNotFoundError):
        return HubError(f"No model repo {repo_id} on the Hub (or it is private: give a token with access).")
    if isinstance(e, errors.RevisionNotFoundError):
        return HubError(f"{repo_id} has no revision {revision!r}.")
    if isinstance(e, errors.LocalEntryNotFoundError) or type(e).__name__ == "OfflineModeIsEnabled":
        return HubError(f"The Hub cannot be reached (offline or no network) and {repo_id}{rev} is not in "
                        "the local cache.")
    if isinstance(e, errors.EntryNotFoundError):
        return HubError(f"{repo_id}{rev} lost a file while it was being downloaded; try again.")
    if isinstance(e, errors.HfHubHTTPError):
        status = getattr(getattr(e, "response", None), "status_code", None)
        if status == 401:
            return HubError("The Hub refused the token (401): check that it is valid.")
        if status == 403:
            return HubError(f"The Hub refused access to {repo_id} (403): the token lacks the rights needed.")
        first = next((ln for ln in str(e).splitlines() if ln.strip()), "")
        return HubError(f"The Hub answered with an error for {repo_id}{rev}: {first[:160]}")
    return HubError(f"The Hub cannot be reached ({type(e).__name__}); check the network and try again.")


def _listing(repo_id: str, revision: str | None, token) -> tuple[str, dict]:
    """(commit sha, {path: size in bytes}) of the repo at `revision`, asked of the Hub."""
    from huggingface_hub import HfApi
    info = HfApi(endpoint=endpoint(), token=token).model_info(repo_id, revision=revision, files_metadata=True)
    return info.sha, {s.rfilename: s.size for s in info.siblings or []}


def plan(files: dict, subfolder: str = "", repo_id: str = "the repo") -> tuple[dict, list[str]]:
    """Which files of a repo's listing make the checkpoint in `subfolder`: {"weights": path,
    "config": path, "insights": path} (the last two when present and small enough), and
    notes on what was left out. Sizes are checked here, before anything is downloaded."""
    prefix = f"{subfolder}/" if subfolder else ""
    where = f"{repo_id}/{subfolder}" if subfolder else repo_id
    here = {p[len(prefix):]: size for p, size in files.items() if p.startswith(prefix) and "/" not in p[len(prefix):]}
    tensors = sorted(p for p in here if p.endswith(".safetensors") and p != INSIGHTS)
    if checkpoints.WEIGHTS in here:
        weights = checkpoints.WEIGHTS
    elif len(tensors) == 1:
        weights = tensors[0]
    elif tensors:
        raise CheckpointError(f"{where} holds several .safetensors files ({', '.join(tensors[:4])}) and no "
                              f"{checkpoints.WEIGHTS}: this app loads one small network.")
    else:
        pickles = [p for p in here if p.endswith(checkpoints.PICKLE_SUFFIXES)]
        if pickles:
            raise CheckpointError(f"{where} offers only pickled weights ({', '.join(pickles[:3])}); they can run "
                                  "code and are refused, never downloaded: the repo needs a .safetensors file.")
        deeper = sorted({p.split("/")[len(prefix.split("/")) - 1] for p in files
                         if p.startswith(prefix) and p.endswith(".safetensors") and "/" in p[len(prefix):]})
        hint = f" (there are some in {', '.join(deeper[:4])}: give that as the subfolder)" if deeper else ""
        raise CheckpointError(f"{where} holds no .safetensors checkpoint{hint}.")
    size = here[weights]
    if size is None or size > MAX_WEIGHTS_BYTES:
        what = "of unknown size" if size is None else megabytes(size)
        raise LimitError(f"{weights} is {what}; these networks are under 1 MB and the app downloads weights "
                         f"files of at most {megabytes(MAX_WEIGHTS_BYTES)}.")
    chosen, notes = {"weights": prefix + weights}, []
    for role, name, limit in (("config", checkpoints.CONFIG, MAX_CONFIG_BYTES), ("insights", INSIGHTS, MAX_INSIGHTS_BYTES)):
        if name in here:
            if here[name] is not None and here[name] <= limit:
                chosen[role] = prefix + name
            else:
                notes.append(f"its {name} ({megabytes(here[name] or 0)}) is over the {megabytes(limit)} limit "
                             "and was not downloaded")
    return chosen, notes


def download(repo_id: str, revision: str | None = None, subfolder: str = "", token: str | None = None
             ) -> tuple[Path, str, list[str]]:
    """The checkpoint's files in the app's Hub cache: (their folder, the commit, notes).
    Offline, a repo already in the cache is used as it is."""
    from huggingface_hub import hf_hub_download, snapshot_download
    repo_id, revision, subfolder = check_repo_id(repo_id), check_revision(revision), check_subfolder(subfolder)
    token = _token(token)
    try:
        if _offline():
            root = Path(snapshot_download(repo_id, revision=revision, cache_dir=cache_dir(), local_files_only=True))
            folder = root / subfolder if subfolder else root
            if not folder.is_dir():
                raise HubError(f"{repo_id} has no {subfolder!r}.")
            return folder, root.name, []
        sha, files = _listing(repo_id, revision, token)
        chosen, notes = plan(files, subfolder, repo_id)
        paths = {role: Path(hf_hub_download(repo_id, path, revision=sha, cache_dir=cache_dir(), token=token,
                                            endpoint=endpoint()))
                 for role, path in chosen.items()}
    except (CheckpointError, HubError, LimitError):
        raise
    except Exception as e:  # huggingface_hub and httpx raise many kinds; each gets a sentence
        raise _explain(e, repo_id, revision) from None
    return paths["weights"].parent, sha, notes


def name_for(repo_id: str, subfolder: str, sha: str, inputs: str = "auto") -> str:
    """A Hub checkpoint's name in the app: in its own namespace, with the commit it came from,
    so it can never take another checkpoint's name and always means the same weights (and the
    same inputs: a normalisation the learner chose is part of the name)."""
    told = "" if inputs == "auto" else f"~{inputs}"
    return f"hub:{repo_id}{'/' + subfolder if subfolder else ''}@{sha[:8]}{told}"


def load_from_hub(repo_id: str, revision: str | None = None, subfolder: str | None = None,
                  token: str | None = None, inputs: str = "auto") -> Checkpoint:
    """Download (or find in the cache) and strictly load a checkpoint from a Hub repo; `inputs`
    as `checkpoints.load` takes it (auto: as the checkpoint says, or as found)."""
    if inputs not in checkpoints.INPUTS:
        raise HubError(f"Inputs must be one of {', '.join(checkpoints.INPUTS)}, not {str(inputs)[:20]!r}.")
    subfolder = check_subfolder(subfolder)
    with _lock:
        folder, sha, notes = download(repo_id, revision, subfolder, token)
        repo_dir = next(p for p in folder.parents if p.name.startswith("models--"))
        (repo_dir / USED).touch()
        try:
            ck = checkpoints.load(folder, name=name_for(check_repo_id(repo_id), subfolder, sha, inputs),
                                  inputs=inputs)
        finally:
            evict(cache_dir(), HUB_CACHE_BUDGET, keep=repo_dir)
    ck.notes = notes + ck.notes
    return ck


def evict(cache: Path, budget: int, keep: Path | None = None) -> list[str]:
    """Delete whole repos from the app's Hub cache, least recently loaded first, until it is
    within `budget` bytes; returns the repos deleted."""
    repos = [p for p in cache.glob("models--*") if p.is_dir()]
    sizes = {p: sum(f.stat().st_size for f in p.rglob("*") if f.is_file() and not f.is_symlink()) for p in repos}
    total = sum(sizes.values())
    used = {p: (p / USED).stat().st_mtime if (p / USED).exists() else 0.0 for p in repos}
    gone = []
    for p in sorted(repos, key=used.get):
        if total <= budget:
            break
        if keep is not None and p == keep:
            continue
        shutil.rmtree(p, ignore_errors=True)
        total -= sizes[p]
        gone.append(p.name)
    return gone


MODEL_CARD = """---
library_name: pytorch
tags: [image-classification, mnist, cnn-explorer, {arch}]
datasets: [mnist]
metrics: [accuracy]
license: mit
---

# {title} trained on MNIST

A {title} ({description}) trained with [CNN Explorer](https://huggingface.co/spaces), a
teaching app that shows how convolutional networks see.

| | |
| --- | --- |
| architecture | `{arch}` |
| MNIST test accuracy | {accuracy} |
| training | {training} |
| input | 28×28 grayscale in [0, 1], ink = 1; normalised inside the model with mean {mean}, std {std} |
| weights | `model.safetensors` (no pickle); `config.json` holds the same metadata |

## Load it

In CNN Explorer: *Train & Hub* tab → *Load from the Hub* → `{repo_id}`.

In code (safetensors only):

```python
from huggingface_hub import snapshot_download
from cnn_demo import checkpoints
ck = checkpoints.load(snapshot_download("{repo_id}"))
probs = ck.model(x).softmax(1)   # x: (N, 1, 28, 28) in [0, 1]
```
"""


def card(ck: Checkpoint, repo_id: str) -> str:
    meta = ck.meta
    tc = meta.get("train_config") or {}
    training = ", ".join(f"{k}={v}" for k, v in tc.items()).replace("|", "/") if tc else "not recorded"
    acc = meta.get("test_accuracy")
    info = ARCHS[ck.arch]
    return MODEL_CARD.format(arch=ck.arch, title=ck.model.title, description=info.description, repo_id=repo_id,
                             accuracy=f"{acc:.4f}" if isinstance(acc, float) else "not recorded",
                             training=training, mean=ck.model.mean, std=ck.model.std)


def prepare_upload(ck: Checkpoint, repo_id: str, folder: Path) -> Path:
    """The model folder that `push` uploads: weights + config (via `checkpoints.save`), the
    insights when the checkpoint has them, and a model card."""
    folder = Path(folder)
    checkpoints.save(ck.model, folder, dict(ck.meta))
    if ck.path is not None and (Path(ck.path) / INSIGHTS).is_file():
        shutil.copyfile(Path(ck.path) / INSIGHTS, folder / INSIGHTS)
    (folder / "README.md").write_text(card(ck, repo_id))
    return folder


def push(ck: Checkpoint, repo_id: str, token: str, private: bool = False) -> str:
    """Create (or reuse) the repo and commit the folder to it; returns the repo's URL. The
    folder is prepared in a temporary directory that is gone afterwards, whatever happens."""
    from huggingface_hub import CommitOperationAdd, HfApi
    repo_id = check_repo_id(repo_id)
    if "/" not in repo_id:
        raise HubError("Write the repo as user/name (or organisation/name).")
    if not _token(token):
        raise HubError("Pushing needs a Hugging Face token with write access (huggingface.co/settings/tokens).")
    if _offline():
        raise HubError("The Hub cannot be reached (offline mode): pushing needs the network.")
    with tempfile.TemporaryDirectory(prefix="cnn-demo-push-") as tmp:
        folder = prepare_upload(ck, repo_id, Path(tmp))
        ops = [CommitOperationAdd(p.name, p.read_bytes()) for p in sorted(folder.iterdir())]
        try:
            api = HfApi(endpoint=endpoint(), token=_token(token))
            url = api.create_repo(repo_id, private=bool(private), exist_ok=True)
            api.create_commit(repo_id, ops, commit_message=f"Upload {ck.name} from CNN Explorer")
        except Exception as e:
            raise _explain(e, repo_id, None) from None
    return str(url)


__all__ = ["HubError", "load_from_hub", "push", "prepare_upload", "card", "check_repo_id", "plan", "evict"]
