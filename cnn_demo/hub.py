"""Checkpoints on the Hugging Face Hub: load a model folder by repo id, push one to share.

Loading goes through the same `checkpoints.load` as bundled and local folders, so the
same strict checks apply; only safetensors and JSON are ever downloaded, and a repo that
offers only pickles is refused without fetching them. A token is used for one call and
never logged, echoed or stored.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from . import checkpoints
from .checkpoints import Checkpoint, CheckpointError
from .models import ARCHS

REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}(/[A-Za-z0-9][A-Za-z0-9_.-]{0,95})?$")
SUBFOLDER_RE = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
DOWNLOAD = ["*.safetensors", "*.json", "README.md"]


class HubError(RuntimeError):
    """The Hub could not give a usable checkpoint; the message says why and what to do."""


def check_repo_id(repo_id: str) -> str:
    repo_id = (repo_id or "").strip()
    if not REPO_RE.match(repo_id) or ".." in repo_id:
        raise HubError(f"{repo_id[:100]!r} is not a Hub repo id: write it as user/name, e.g. "
                       "'ylecun/lenet5-mnist'.")
    return repo_id


def _cache_dir() -> str | None:
    return os.environ.get("HF_HUB_CACHE") or None


def _explain(e: Exception, repo_id: str, revision: str | None) -> HubError:
    from huggingface_hub import errors
    rev = f" at revision {revision!r}" if revision else ""
    if isinstance(e, errors.GatedRepoError):
        return HubError(f"{repo_id} is gated: accept its terms on huggingface.co and give a token.")
    if isinstance(e, errors.RepositoryNotFoundError):
        return HubError(f"No model repo {repo_id} on the Hub (or it is private).")
    if isinstance(e, errors.RevisionNotFoundError):
        return HubError(f"{repo_id} has no revision {revision!r}.")
    if isinstance(e, errors.LocalEntryNotFoundError) or type(e).__name__ == "OfflineModeIsEnabled":
        return HubError(f"The Hub cannot be reached (offline or no network) and {repo_id}{rev} is not in "
                        "the local cache.")
    if isinstance(e, errors.HfHubHTTPError):
        return HubError(f"The Hub answered with an error for {repo_id}{rev}: {str(e).splitlines()[0][:200]}")
    return HubError(f"The Hub cannot be reached ({type(e).__name__}); check the network and try again.")


def _remote_files(repo_id: str, revision: str | None, token) -> list[str] | None:
    """The repo's file list, when the Hub can be asked (None offline)."""
    from huggingface_hub import HfApi, constants
    if constants.HF_HUB_OFFLINE:
        return None
    info = HfApi().model_info(repo_id, revision=revision, token=token)
    return [s.rfilename for s in info.siblings or []]


def download(repo_id: str, revision: str | None = None, token: str | None = None) -> Path:
    """The repo's safetensors and JSON files in the Hub cache (downloaded or already there)."""
    from huggingface_hub import snapshot_download
    repo_id = check_repo_id(repo_id)
    revision = (revision or "").strip() or None
    try:
        files = _remote_files(repo_id, revision, token)
        if files is not None and not any(f.endswith(".safetensors") for f in files):
            pickles = [f for f in files if f.endswith(checkpoints.PICKLE_SUFFIXES)]
            if pickles:
                raise CheckpointError(f"{repo_id} offers only pickled weights ({', '.join(pickles[:3])}); they "
                                      "can run code and are refused, never downloaded: the repo needs a "
                                      ".safetensors file.")
            raise CheckpointError(f"{repo_id} has no .safetensors checkpoint.")
        path = snapshot_download(repo_id, revision=revision, allow_patterns=DOWNLOAD, cache_dir=_cache_dir(),
                                 token=token)
    except (CheckpointError, HubError):
        raise
    except Exception as e:  # huggingface_hub and requests/httpx raise many kinds; each gets a sentence
        raise _explain(e, repo_id, revision) from None
    return Path(path)


def load_from_hub(repo_id: str, revision: str | None = None, subfolder: str | None = None,
                  token: str | None = None) -> Checkpoint:
    """Download (or find in the cache) and strictly load a checkpoint from a Hub repo."""
    root = download(repo_id, revision, token)
    folder = root
    subfolder = (subfolder or "").strip().strip("/")
    if subfolder:
        if not SUBFOLDER_RE.match(subfolder) or ".." in subfolder.split("/"):
            raise HubError(f"{subfolder!r} is not a folder or file name inside the repo.")
        folder = root / subfolder
        if not folder.exists():
            raise HubError(f"{repo_id} has no {subfolder!r}.")
    rev = (revision or "").strip()
    name = check_repo_id(repo_id) + (f"/{subfolder}" if subfolder else "") + (f"@{rev}" if rev else "")
    ck = checkpoints.load(folder, name=name)
    ck.meta["source"] = f"hub:{repo_id}"
    return ck


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
    training = ", ".join(f"{k}={v}" for k, v in tc.items()) if tc else "not recorded"
    acc = meta.get("test_accuracy")
    info = ARCHS[ck.arch]
    return MODEL_CARD.format(arch=ck.arch, title=info.title, description=info.description, repo_id=repo_id,
                             accuracy=f"{float(acc):.4f}" if acc not in (None, "") else "not recorded",
                             training=training, mean=ck.model.mean, std=ck.model.std)


def prepare_upload(ck: Checkpoint, repo_id: str, folder: Path | None = None) -> Path:
    """The model folder that `push` uploads: weights + config (via `checkpoints.save`) + card."""
    folder = Path(folder or tempfile.mkdtemp(prefix="cnn-demo-push-"))
    meta = {k: v for k, v in ck.meta.items() if k not in ("source",)}
    checkpoints.save(ck.model, folder, meta)
    (folder / "README.md").write_text(card(ck, repo_id))
    return folder


def push(ck: Checkpoint, repo_id: str, token: str, private: bool = False) -> str:
    """Create (or reuse) the repo and upload the folder; returns the repo's URL."""
    from huggingface_hub import HfApi
    repo_id = check_repo_id(repo_id)
    if "/" not in repo_id:
        raise HubError("Write the repo as user/name (or organisation/name).")
    if not token or not token.strip():
        raise HubError("Pushing needs a Hugging Face token with write access (huggingface.co/settings/tokens).")
    folder = prepare_upload(ck, repo_id)
    try:
        api = HfApi(token=token.strip())
        url = api.create_repo(repo_id, private=private, exist_ok=True)
        api.upload_folder(repo_id=repo_id, folder_path=folder, commit_message=f"Upload {ck.name} from CNN Explorer")
    except Exception as e:
        raise _explain(e, repo_id, None) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return str(url)


__all__ = ["HubError", "load_from_hub", "push", "prepare_upload", "card", "check_repo_id"]
