"""Checkpoints as Hugging Face-style model folders: `model.safetensors` + `config.json`.

Safetensors only: nothing a user or the Hub supplies is ever unpickled. Writes are atomic
(temp file, fsync, rename), so a crash or a full disk never leaves a half file in place
of a good one. Loading is strict: architecture, every tensor name, shape and dtype, weights
that stay finite through the network, and every metadata field of the type it should have
(a field that is not is dropped, with a note) — a checkpoint is shared by every visitor, so
nothing in it may break the views of the others.
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

from . import recognise
from .limits import MAX_CONFIG_BYTES, MAX_TEXT, MAX_WEIGHT_VALUE, MAX_WEIGHTS_BYTES, megabytes
from .models import ARCHS, MNIST_MEAN, MNIST_STD, StagedNet, build

WEIGHTS, CONFIG = "model.safetensors", "config.json"
PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".pkl", ".pickle", ".ckpt")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


BARELY_TRAINED = 0.90  # a checkpoint that misreads more than 1 test digit in 10 is said to be barely trained


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message says exactly why, in one sentence."""


@dataclass
class Checkpoint:
    name: str
    model: StagedNet
    meta: dict = field(default_factory=dict)  # only fields of META, each of its type
    path: Path | None = None
    notes: list = field(default_factory=list)  # what loading ignored, one sentence each
    found: list = field(default_factory=list)  # what loading worked out itself (architecture, inputs)

    @property
    def arch(self) -> str:
        return self.model.arch

    @property
    def barely_trained(self) -> bool:
        """Its stated MNIST test accuracy is below BARELY_TRAINED (the bundled ones: over 99 %)."""
        acc = self.meta.get("test_accuracy")
        return isinstance(acc, float) and acc < BARELY_TRAINED

    @property
    def title(self) -> str:
        acc = self.meta.get("test_accuracy")
        acc = f", {acc:.2%} on MNIST" if isinstance(acc, float) else ""
        return f"{self.name} ({self.model.title}{acc})"


def _text(v):
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        v = str(v)  # a name such as "2024" reads back from JSON as a number
    return v if isinstance(v, str) and len(v) <= MAX_TEXT else None


def _fraction(v):
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1 else None


def _count(v):
    return int(v) if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**31 else None


def _seconds(v):
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < 1e7 else None


def _number(v):
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) < 1e6 else None


def _train_config(v):
    """The recipe a checkpoint was trained with: TrainConfig's fields, plain values only."""
    if not isinstance(v, dict):
        return None
    from .train import TrainConfig
    known = TrainConfig.__dataclass_fields__
    out = {k: x for k, x in v.items() if k in known and (isinstance(x, (bool, int, float))
                                                          or isinstance(x, str) and len(x) <= 40
                                                          or k == "widths" and _short_ints(x))}
    return out if len(out) == len(v) else None


def _short_ints(v) -> bool:
    return isinstance(v, list) and len(v) <= 4 and all(isinstance(x, int) and not isinstance(x, bool) for x in v)


def _widths(v):
    return v if _short_ints(v) else None


# every metadata field the app reads, and how to read it (None: the value is not of its type)
META = {
    "arch": _text, "name": _text, "dataset": _text, "date": _text, "torch": _text, "safetensors": _text,
    "test_accuracy": _fraction, "epochs": _count, "epochs_completed": _count, "seed": _count,
    "train_seconds": _seconds, "mean": _number, "std": _number, "train_config": _train_config,
    "widths": _widths,
}


def clean_meta(raw: dict) -> tuple[dict, list[str]]:
    """Known fields of the right type; the others dropped, each with a note. Unknown fields are
    ignored: nothing the app shows comes from them."""
    meta, notes = {}, []
    for k, v in raw.items():
        read = META.get(k)
        if read is None:
            continue
        value = read(v)
        if value is None:
            notes.append(f"its {k!s:.40} ({str(v)[:30]!r}) is not of the expected type and was ignored")
        else:
            meta[k] = value
    return meta, notes


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
        **versions(), **(meta or {}), **model.kwargs(),  # the model's own widths, whatever a meta says
    }
    tensors = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.state_dict().items()}
    str_meta = {k: v if isinstance(v, str) else json.dumps(v) for k, v in meta.items()}
    _atomic_write(folder / WEIGHTS, st_save(tensors, metadata=str_meta))
    _atomic_write(folder / CONFIG, (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode())
    return folder


def save_new(model: StagedNet, parent: str | os.PathLike, name: str, meta: dict | None = None,
             extra=None) -> Path:
    """Save under a new name: the whole folder — with whatever `extra(folder)` adds, such as the
    insights — is written aside and renamed into place, so a crash or a full disk leaves either
    nothing or a complete checkpoint, and nothing saved is overwritten."""
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
        if extra is not None:
            extra(tmp)
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
        pickles = sorted(p.name for p in path.iterdir() if p.suffix in PICKLE_SUFFIXES)
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


def _read_config(cfg_file: Path) -> dict:
    if not cfg_file.is_file():
        return {}
    if cfg_file.stat().st_size > MAX_CONFIG_BYTES:
        raise CheckpointError(f"{cfg_file.name} is over {megabytes(MAX_CONFIG_BYTES)}; a model's config is a few lines.")
    try:
        cfg = json.loads(cfg_file.read_bytes())
    except (ValueError, UnicodeDecodeError):
        raise CheckpointError(f"{cfg_file.name} is not valid JSON.") from None
    return cfg if isinstance(cfg, dict) else {}


INPUTS = ("auto", "mnist", "raw")  # how a checkpoint's inputs are normalised: as it says / found, or told


def load(path: str | os.PathLike, name: str | None = None, device="cpu", inputs: str = "auto") -> Checkpoint:
    """Load and strictly validate a checkpoint folder or `.safetensors` file. One that does not
    say its architecture is recognised from its tensors; one that does not say its inputs'
    normalisation is tried both ways on the example digits (`inputs` overrides both)."""
    if inputs not in INPUTS:
        raise CheckpointError(f"Inputs must be one of {', '.join(INPUTS)}, not {str(inputs)[:20]!r}.")
    path = Path(path)
    wfile = _weights_file(path)
    size = wfile.stat().st_size
    if size > MAX_WEIGHTS_BYTES:
        raise CheckpointError(f"{wfile.name} is {megabytes(size)}; these networks are under 1 MB, and files over "
                              f"{megabytes(MAX_WEIGHTS_BYTES)} are refused.")
    with open(wfile, "rb") as f:
        head = f.read(8)
    if len(head) < 8 or int.from_bytes(head, "little") > size - 8:
        raise CheckpointError(f"{wfile.name} is not a valid safetensors file (truncated, or its header "
                              "claims more bytes than the file holds).")
    try:
        with safe_open(str(wfile), framework="pt") as f:
            raw = _parse_meta(f.metadata())
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{wfile.name} is not a valid safetensors file ({e}).") from None
    if "arch" not in raw:
        raw = {**_read_config(wfile.parent / CONFIG), **raw}
    meta, notes = clean_meta(raw)
    arch, found = meta.get("arch"), []
    if arch is None:  # a bare state_dict, or a config of constructor arguments (PyTorchModelHubMixin)
        try:
            r = recognise.recognise(tensors)
        except recognise.NotRecognised as e:
            raise CheckpointError(f"{wfile.name} does not say which architecture it is (no 'arch' in its "
                                  f"metadata or {CONFIG}), and {e}.") from None
        arch, tensors = r.arch, r.tensors
        found.append(r.how)
    if arch not in ARCHS:
        raise CheckpointError(f"{wfile.name} is for architecture {arch[:40]!r}, which this app does not know "
                              f"(known: {', '.join(ARCHS)}).")
    kw = ARCHS[arch].cls.kwargs_for(tensors)  # TinyCNN's widths, read from its weights
    try:
        check_state(build(arch, **kw), tensors, wfile.name)
    except ValueError as e:
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(f"{wfile.name}: {e}") from None
    if inputs == "mnist":
        mean, std = MNIST_MEAN, MNIST_STD
    elif inputs == "raw":
        mean, std = 0.0, 1.0
    elif "mean" in meta or "std" in meta:  # it says (what it leaves out is MNIST's)
        mean, std = meta.get("mean", MNIST_MEAN), meta.get("std", MNIST_STD)
    else:  # nothing says: read the example digits both ways
        mean, std, how = recognise.normalisation(arch, tensors)
        found.append(how[0].upper() + how[1:] + ".")
    if not (0 <= mean <= 1 and 0.01 <= std <= 1):
        raise CheckpointError(f"{wfile.name} has an implausible normalisation (mean {mean:.4g}, std {std:.4g}; "
                              "expected a mean in [0, 1] and a std in [0.01, 1]).")
    model = build(arch, mean=mean, std=std, **kw)
    model.load_state_dict(tensors, strict=True)
    model.to(device).eval()
    check_outputs(model, wfile.name)
    name = name or meta.get("name") or wfile.parent.name
    meta.pop("widths", None)  # the weights say, not the config
    return Checkpoint(name, model, {**meta, "arch": arch, "mean": mean, "std": std, **model.kwargs()},
                      wfile.parent, notes, found)


@torch.inference_mode()
def check_outputs(model: StagedNet, label: str) -> None:
    """Weights that are finite can still overflow float32 on the way through the network (×1e30
    gives NaN probabilities for every drawing): with every weight within ±MAX_WEIGHT_VALUE and
    inputs in [0, 1] the logits stay finite, and a few probe inputs confirm it."""
    g = torch.Generator().manual_seed(0)
    probes = torch.cat([torch.zeros(1, 1, 28, 28), torch.ones(1, 1, 28, 28), torch.rand(6, 1, 28, 28, generator=g)])
    p = next(model.parameters())
    if not torch.isfinite(model(probes.to(p.device))).all():
        raise CheckpointError(f"{label}'s outputs are not finite numbers (its weights overflow): refused.")


def _names(keys, at_most: int = 8) -> str:
    """Tensor names as they appear in a message: quoted, shortened, at most a few of them
    (a file can hold thousands of names, and any characters in them)."""
    keys = list(keys)
    shown = ", ".join(k if len(k) <= 40 and k.replace(".", "").replace("_", "").isalnum() else repr(k[:40])
                      for k in keys[:at_most])
    return shown + (f" and {len(keys) - at_most} more" if len(keys) > at_most else "")


def check_state(model: StagedNet, tensors: dict, label: str) -> None:
    """Say precisely which names, shapes or dtypes differ from what `model` expects."""
    want = model.state_dict()
    problems = []
    missing = [k for k in want if k not in tensors]
    extra = [k for k in tensors if k not in want]
    if missing:
        problems.append(f"missing {_names(missing)}")
    if extra:
        problems.append(f"unexpected {_names(extra)}")
    for k in want.keys() & tensors.keys():
        if tuple(tensors[k].shape) != tuple(want[k].shape):
            problems.append(f"{k} has shape {list(tensors[k].shape)}, expected {list(want[k].shape)}")
        elif not tensors[k].is_floating_point():
            problems.append(f"{k} has dtype {tensors[k].dtype}, expected a float")
        elif not torch.isfinite(tensors[k]).all():
            problems.append(f"{k} holds NaN or infinite values")
        elif tensors[k].abs().max() > MAX_WEIGHT_VALUE:
            problems.append(f"{k} holds values beyond ±{MAX_WEIGHT_VALUE:g} (trained weights of these "
                            "networks stay within ±10)")
    if problems:
        raise CheckpointError(f"{label} does not match {model.title}: " + "; ".join(problems) + ".")
