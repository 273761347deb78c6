"""What each neuron looks for, over the MNIST test set: top examples per channel (with the
patch that excites it), class signatures, a 2-D embedding of F6, the confusion matrix.

Computed once per checkpoint in one pass over the 10,000 test digits and kept beside it
as `insights.safetensors` (indices, activations, thumbnails), so the views work without
the dataset at run time. Feature visualisation (activation maximisation) is on demand.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file, save as np_save

from .adam import Adam
from .checkpoints import CheckpointError, _atomic_write
from .data import to_float
from .limits import MAX_INSIGHTS_BYTES, megabytes
from .models import StagedNet
from .probe import conv_layers as conv_names, receptive_fields  # noqa: F401 (part of this module's API)

FILE = "insights.safetensors"
TOP = 9
EMBED_N = 2000


def feature_name(model: StagedNet) -> str:
    """The last hidden representation before the output: LeNet-5's F6, TinyCNN's pool2."""
    names = model.names
    return "F6_relu" if "F6_relu" in names else names[-3]


@dataclass
class Insights:
    arrays: dict  # name → numpy array (what the file holds)

    def top(self, layer: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(indices (C, 9), activations (C, 9), best positions (C, 9, 2)) of a conv layer."""
        a = self.arrays
        return a[f"top/{layer}/idx"], a[f"top/{layer}/act"], a[f"top/{layer}/pos"]

    def thumb(self, idx: int) -> np.ndarray:
        a = self.arrays
        k = np.searchsorted(a["thumb_idx"], idx)
        return a["thumbs"][k]


@torch.inference_mode()
def compute(model: StagedNet, x: torch.Tensor, y: torch.Tensor, batch: int = 2000) -> Insights:
    """One pass over the test set: per-channel maxima (and where), F6, logits."""
    convs = conv_names(model)
    feat = feature_name(model)
    maxima = {c: [] for c in convs}
    argpos = {c: [] for c in convs}
    feats, logits = [], []
    for i in range(0, len(x), batch):
        f = model.features(to_float(x[i:i + batch]), convs + [feat, model.last])
        for name in convs:
            v, j = f[name].flatten(2).max(2)
            maxima[name].append(v)
            argpos[name].append(torch.stack([j // f[name].shape[-1], j % f[name].shape[-1]], -1))
        feats.append(f[feat].flatten(1))
        logits.append(f[model.last])
    logits = torch.cat(logits)
    probs = torch.softmax(logits, 1)
    pred = probs.argmax(1)
    arr: dict[str, np.ndarray] = {}
    keep = set()
    for c in convs:
        v = torch.cat(maxima[c])  # (N, C)
        pos = torch.cat(argpos[c])  # (N, C, 2)
        tv, ti = v.topk(TOP, dim=0)  # (9, C)
        arr[f"top/{c}/idx"] = ti.T.numpy().astype(np.int32)
        arr[f"top/{c}/act"] = tv.T.numpy()
        arr[f"top/{c}/pos"] = pos[ti, torch.arange(v.shape[1])].permute(1, 0, 2).numpy().astype(np.int16)
        arr[f"max/{c}"] = v.max(0).values.numpy()
        keep.update(ti.flatten().tolist())
    f = torch.cat(feats)
    g = torch.Generator().manual_seed(0)
    sample = torch.randperm(len(x), generator=g)[:EMBED_N].sort().values
    fs = f[sample]
    mean = fs.mean(0)
    _, _, v = torch.pca_lowrank(fs - mean, q=2, center=False)
    arr["embed/idx"] = sample.numpy().astype(np.int32)
    arr["embed/xy"] = ((fs - mean) @ v).numpy()
    arr["embed/mean"], arr["embed/axes"] = mean.numpy(), v.numpy()
    arr["embed/label"] = y[sample].numpy().astype(np.int8)
    keep.update(sample.tolist())
    conf = torch.zeros(10, 10, dtype=torch.int64)
    conf.index_put_((y, pred), torch.ones_like(y), accumulate=True)
    arr["confusion"] = conf.numpy()
    wrong = (pred != y).nonzero().flatten()
    arr["wrong/idx"] = wrong.numpy().astype(np.int32)
    arr["wrong/probs"] = probs[wrong].numpy()
    arr["wrong/pred"] = pred[wrong].numpy().astype(np.int8)
    arr["wrong/label"] = y[wrong].numpy().astype(np.int8)
    keep.update(wrong.tolist())
    # class signatures: each class's mean of every 1-D stage (C5, F6, OUTPUT or feature, fc)
    sig = {}
    for name, out in model.stages(to_float(x[:2000])):
        if out.ndim == 2 or (out.ndim == 4 and out.shape[-1] == 1):
            sig[name] = out.flatten(1)
    for name, v in sig.items():
        arr[f"sig/{name}"] = torch.stack([v[y[:2000] == k].mean(0) for k in range(10)]).numpy()
    idx = np.array(sorted(keep), np.int32)
    arr["thumb_idx"] = idx
    arr["thumbs"] = x[torch.from_numpy(idx).long(), 0].numpy().astype(np.uint8)
    return Insights(arr)


def save(ins: Insights, folder: str | Path) -> Path:
    path = Path(folder) / FILE
    _atomic_write(path, np_save({k: np.ascontiguousarray(v) for k, v in ins.arrays.items()}))
    return path


def load(folder: str | Path, model: StagedNet | None = None) -> Insights | None:
    """The views saved beside a checkpoint, or None if there are none. A file from elsewhere
    (the Hub) is checked before it is read — its size — and after — every array the views
    use, against `model` — so that a wrong one is a sentence, not a broken tab."""
    path = Path(folder) / FILE
    if not path.is_file():
        return None
    size = path.stat().st_size
    if size > MAX_INSIGHTS_BYTES:
        raise CheckpointError(f"Its {FILE} is {megabytes(size)}; the app reads at most "
                              f"{megabytes(MAX_INSIGHTS_BYTES)} (the bundled ones are ~2.4 MB).")
    try:
        arrays = load_file(str(path))
    except Exception as e:  # safetensors raises several kinds for a corrupt file
        raise CheckpointError(f"Its {FILE} is not a valid safetensors file ({type(e).__name__}).") from None
    ins = Insights(arrays)
    if model is not None:
        check(ins, model)
    return ins



class Unavailable(Exception):
    """A checkpoint whose dataset views can be neither read nor computed here."""


def of_checkpoint(ck, name: str | None = None) -> Insights:
    """A checkpoint's dataset views: its `insights.safetensors` when present and sound, else
    computed from a local MNIST copy (CNN_DEMO_DATA). Unavailable (a sentence) when neither."""
    from .data import cached, local_folder
    why = ""
    try:
        ins = load(ck.path, ck.model) if ck.path else None
    except CheckpointError as e:
        ins, why = None, f"{e} "
    if ins is not None:
        return ins
    folder = local_folder()
    if folder is None:
        raise Unavailable(f"{why}{name or ck.name} has no usable precomputed insights and no local MNIST copy "
                          "is set (CNN_DEMO_DATA) to compute them.")
    return compute(ck.model, cached(folder).raw("test"), cached(folder).labels("test"))

def _stage_sizes(model: StagedNet) -> dict:
    with torch.inference_mode():
        return {name: tuple(out.shape[1:]) for name, out in model.stages(torch.zeros(2, 1, 28, 28))}


def expected(model: StagedNet) -> dict:
    """name → (shape with None for free sizes, dtype kind) of every array `compute` writes."""
    shapes = _stage_sizes(model)
    feat = int(np.prod(shapes[feature_name(model)]))
    spec = {"embed/idx": ((None,), "i"), "embed/xy": ((None, 2), "f"), "embed/mean": ((feat,), "f"),
            "embed/axes": ((feat, 2), "f"), "embed/label": ((None,), "i"), "confusion": ((10, 10), "i"),
            "wrong/idx": ((None,), "i"), "wrong/probs": ((None, 10), "f"), "wrong/pred": ((None,), "i"),
            "wrong/label": ((None,), "i"), "thumb_idx": ((None,), "i"), "thumbs": ((None, 28, 28), "u")}
    for c in conv_names(model):
        ch = shapes[c][0]
        spec.update({f"top/{c}/idx": ((ch, TOP), "i"), f"top/{c}/act": ((ch, TOP), "f"),
                     f"top/{c}/pos": ((ch, TOP, 2), "i"), f"max/{c}": ((ch,), "f")})
    return spec


def check(ins: Insights, model: StagedNet) -> None:
    """Every array the views read is there, of its shape and kind, and every test index they
    look up has its thumbnail."""
    a = ins.arrays
    for k, (shape, kind) in expected(model).items():
        v = a.get(k)
        if v is None or v.ndim != len(shape) or v.dtype.kind not in (kind, "u" if kind == "i" else kind) or any(
                want is not None and got != want for got, want in zip(v.shape, shape)):
            raise CheckpointError(f"Its {FILE} does not fit this network ({k} is missing or has the wrong shape).")
    thumbs = a["thumb_idx"]
    if len(thumbs) != len(a["thumbs"]) or (len(thumbs) > 1 and (np.diff(thumbs) <= 0).any()):
        raise CheckpointError(f"Its {FILE} has inconsistent thumbnails.")
    used = [a[k].reshape(-1) for k in a if k.endswith("/idx") and k.startswith(("top/", "wrong/"))]
    if used and not np.isin(np.concatenate(used), thumbs).all():
        raise CheckpointError(f"Its {FILE} refers to test digits it has no thumbnail of.")
    if len(a["embed/xy"]) != len(a["embed/idx"]) or len(a["embed/label"]) != len(a["embed/idx"]):
        raise CheckpointError(f"Its {FILE} has an inconsistent embedding.")
    n = len(a["wrong/idx"])
    if not (len(a["wrong/probs"]) == len(a["wrong/pred"]) == len(a["wrong/label"]) == n):
        raise CheckpointError(f"Its {FILE} has an inconsistent list of errors.")
    for k in ("wrong/pred", "wrong/label", "embed/label"):
        if len(a[k]) and not (0 <= a[k].min() and a[k].max() <= 9):
            raise CheckpointError(f"Its {FILE} names a class outside 0–9 ({k}).")
    for k, v in a.items():
        if v.dtype.kind == "f" and not np.isfinite(v).all():
            raise CheckpointError(f"Its {FILE} holds NaN or infinite values ({k}).")
    sizes = _stage_sizes(model)
    for k in a:
        stage = k[4:]
        if k.startswith("sig/") and (stage not in sizes or a[k].ndim != 2
                                     or a[k].shape != (10, int(np.prod(sizes[stage])))):
            raise CheckpointError(f"Its {FILE} has a class signature that does not fit this network.")
    if any(k.startswith("top/") and k.endswith("/pos") and (a[k] < 0).any() for k in a):
        raise CheckpointError(f"Its {FILE} places a response outside its feature map.")


def embed_point(ins: Insights, model: StagedNet, x: torch.Tensor) -> np.ndarray:
    """Where a new drawing lands in the embedding (same PCA axes)."""
    feat = feature_name(model)
    with torch.inference_mode():
        f = model.features(x, [feat])[feat].flatten(1)
    a = ins.arrays
    return ((f.numpy() - a["embed/mean"]) @ a["embed/axes"])[0]


def closest_class(ins: Insights, vec: np.ndarray, stage: str) -> tuple[int, np.ndarray]:
    """The class whose mean signature is nearest (cosine) to the drawing's, and all similarities."""
    sig = ins.arrays[f"sig/{stage}"]
    v = vec.reshape(-1)
    sims = sig @ v / (np.linalg.norm(sig, axis=1) * np.linalg.norm(v) + 1e-8)
    return int(sims.argmax()), sims


def visualise(model: StagedNet, layer: str, channel: int, steps: int = 150, lr: float = 0.1,
              tv: float = 0.0005, seed: int = 0) -> tuple[np.ndarray, float]:
    """Activation maximisation: an image in [0, 1] that drives the channel's strongest response.
    Readable thanks to random jitter (±1 px) and a total-variation penalty; the image is kept in
    the valid pixel range by projection. A soft maximum over positions gives every position
    a gradient, not only the current winner. Returns the image and its activation."""
    g = torch.Generator().manual_seed(seed)
    img = (0.5 + torch.randn(1, 1, 28, 28, generator=g) * 0.05).clamp(0, 1).requires_grad_(True)
    opt = Adam(img, lr=lr)

    def response(x):
        return model.features(x, [layer])[layer][:, channel].flatten(1)

    with torch.enable_grad():
        for _ in range(steps):
            dy, dx = torch.randint(-1, 2, (2,), generator=g).tolist()
            r = response(torch.roll(img, (dy, dx), (2, 3)))
            soft_max = torch.logsumexp(r * 4, 1) / 4
            tvl = (img[..., 1:, :] - img[..., :-1, :]).abs().sum() + (img[..., :, 1:] - img[..., :, :-1]).abs().sum()
            loss = -soft_max.mean() + tv * tvl
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():
                img.clamp_(0, 1)
    with torch.inference_mode():
        a = float(response(img).max())
    return img.detach()[0, 0].numpy(), a


__all__ = ["compute", "save", "load", "embed_point", "closest_class", "visualise", "receptive_fields"]
