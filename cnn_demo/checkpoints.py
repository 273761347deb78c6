"""Checkpoints as Hugging Face-style model folders: `model.safetensors` + `config.json`.

Safetensors only: nothing a user or the Hub supplies is ever unpickled. Writes are atomic
(temp file, fsync, rename), so a crash or a full disk never leaves a half file in place
of a good one. Loading is strict: architecture, every tensor name, shape and dtype.
The same `load` serves bundled folders, user folders and Hub snapshots.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as st_save

from .models import ARCHS, MNIST_MEAN, MNIST_STD, StagedNet, build

WEIGHTS, CONFIG = "model.safetensors", "config.json"
MAX_BYTES = 64 * 2**20  # our models are < 1 MB; anything near this is not one of ours
PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".pkl", ".pickle", ".ckpt")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message says exactly why, in one sentence."""


@dataclass
class Checkpoint:
    name: str
    model: StagedNet
    meta: dict = field(default_factory=dict)
    path: Path | None = None

    @property
    def arch(self) -> str:
        return self.model.arch

    @property
    def title(self) -> str:
        acc = self.meta.get("test_accuracy")
        acc = f", {float(acc):.2%} on MNIST" if acc not in (None, "") else ""
        return f"{self.name} ({ARCHS[self.arch].title}{acc})"


def check_name(name: str) -> str:
    """A checkpoint name that is safe as a folder name: no paths, no traversal."""
    name = (name or "").strip()
    if not NAME_RE.match(name) or ".." in name:
        raise CheckpointError(
            f"{name!r} is not a valid checkpoint name: use 1–64 letters, digits, '-', '_' or '.', "
            "starting with a letter or digit.")
    return name


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def versions() -> dict:
    import safetensors
    return {"torch": torch.__version__, "safetensors": safetensors.__version__}


def save(model: StagedNet, folder: str | os.PathLike, meta: dict | None = None) -> Path:
    """Write `folder/model.safetensors` (self-describing metadata) then `config.json`.

    The weights file alone is authoritative, so a crash between the two writes still
    leaves a loadable folder; each file is replaced atomically.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    meta = {
        "arch": model.arch, "dataset": "MNIST", "mean": model.mean, "std": model.std,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        **versions(), **(meta or {}),
    }
    tensors = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.state_dict().items()}
    str_meta = {k: v if isinstance(v, str) else json.dumps(v) for k, v in meta.items()}
    _atomic_write(folder / WEIGHTS, st_save(tensors, metadata=str_meta))
    _atomic_write(folder / CONFIG, (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode())
    return folder


def save_new(model: StagedNet, parent: str | os.PathLike, name: str, meta: dict | None = None) -> Path:
    """Save under a new name: the whole folder is written aside and renamed into place, so a
    crash leaves either nothing or a complete checkpoint, and nothing saved is overwritten."""
    name = check_name(name)
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    target = parent / name
    if target.exists():
        raise CheckpointError(f"A checkpoint named {name!r} already exists; saved checkpoints are never "
                              "overwritten, so choose another name.")
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{name}.", suffix=".tmp"))
    try:
        save(model, tmp, {**(meta or {}), "name": name})
        os.rename(tmp, target)  # fails if `target` appeared meanwhile: still nothing overwritten
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _parse_meta(raw: dict | None) -> dict:
    out = {}
    for k, v in (raw or {}).items():
        try:
            out[k] = json.loads(v)
        except (TypeError, ValueError):
            out[k] = v
    return out


def _weights_file(path: Path) -> Path:
    if path.is_dir():
        if (path / WEIGHTS).is_file():
            return path / WEIGHTS
        found = sorted(path.glob("*.safetensors"))
        if len(found) == 1:
            return found[0]
        pickles = [p.name for p in path.iterdir() if p.suffix in PICKLE_SUFFIXES]
        if pickles:
            raise CheckpointError(
                f"{path} holds only pickled weights ({', '.join(pickles)}); they are refused, "
                "never loaded: convert them to safetensors.")
        if found:
            raise CheckpointError(f"{path} holds several .safetensors files and no {WEIGHTS}: name one.")
        raise CheckpointError(f"{path} holds no {WEIGHTS}.")
    if path.suffix in PICKLE_SUFFIXES:
        raise CheckpointError(
            f"{path.name} is a pickled PyTorch file; pickles can run code and are refused, "
            "never loaded: use a .safetensors checkpoint.")
    if not path.is_file():
        raise CheckpointError(f"No checkpoint at {path}.")
    return path


def load(path: str | os.PathLike, name: str | None = None, device="cpu") -> Checkpoint:
    """Load and strictly validate a checkpoint folder or `.safetensors` file."""
    path = Path(path)
    wfile = _weights_file(path)
    size = wfile.stat().st_size
    if size > MAX_BYTES:
        raise CheckpointError(f"{wfile.name} is {size / 2**20:.0f} MB; these models are under 1 MB, so it is refused.")
    with open(wfile, "rb") as f:
        head = f.read(8)
    if len(head) < 8 or int.from_bytes(head, "little") > size - 8:
        raise CheckpointError(f"{wfile.name} is not a valid safetensors file (truncated, or its header "
                              "claims more bytes than the file holds).")
    try:
        with safe_open(str(wfile), framework="pt") as f:
            meta = _parse_meta(f.metadata())
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{wfile.name} is not a valid safetensors file ({e}).") from None

    cfg_file = wfile.parent / CONFIG
    if "arch" not in meta and cfg_file.is_file():
        try:
            cfg = json.loads(cfg_file.read_text())
            meta = {**(cfg if isinstance(cfg, dict) else {}), **meta}
        except ValueError:
            raise CheckpointError(f"{cfg_file} is not valid JSON.") from None
    arch = meta.get("arch")
    if arch is None:
        raise CheckpointError(f"{wfile.name} does not say which architecture it is (no 'arch' in its "
                              f"metadata or {CONFIG}).")
    if arch not in ARCHS:
        raise CheckpointError(f"{wfile.name} is for architecture {arch!r}, which this app does not know "
                              f"(known: {', '.join(ARCHS)}).")
    try:
        mean, std = float(meta.get("mean", MNIST_MEAN)), float(meta.get("std", MNIST_STD))
    except (TypeError, ValueError):
        raise CheckpointError(f"{wfile.name} has a non-numeric normalisation mean/std.") from None
    if not (0 <= mean <= 1 and 0 < std <= 1):
        raise CheckpointError(f"{wfile.name} has an implausible normalisation (mean {mean}, std {std}).")
    model = build(arch, mean=mean, std=std)
    check_state(model, tensors, wfile.name)
    model.load_state_dict(tensors, strict=True)
    model.to(device).eval()
    return Checkpoint(name or meta.get("name") or wfile.parent.name, model, meta, wfile.parent)


def check_state(model: StagedNet, tensors: dict, label: str) -> None:
    """Say precisely which names, shapes or dtypes differ from what `model` expects."""
    want = model.state_dict()
    problems = []
    missing = [k for k in want if k not in tensors]
    extra = [k for k in tensors if k not in want]
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if extra:
        problems.append(f"unexpected {', '.join(extra)}")
    for k in want.keys() & tensors.keys():
        if tuple(tensors[k].shape) != tuple(want[k].shape):
            problems.append(f"{k} has shape {list(tensors[k].shape)}, expected {list(want[k].shape)}")
        elif not tensors[k].is_floating_point():
            problems.append(f"{k} has dtype {tensors[k].dtype}, expected a float")
        elif not torch.isfinite(tensors[k]).all():
            problems.append(f"{k} holds NaN or infinite values")
    if problems:
        raise CheckpointError(f"{label} does not match {ARCHS[model.arch].title}: " + "; ".join(problems) + ".")
