"""Checkpoints as people publish them: `save_file(model.state_dict(), ...)` from a course
notebook, with their own module names and no word on the architecture or the input
normalisation. The architecture is read from the tensors' shapes, the names are mapped onto
the app's, and whether the network expects MNIST-normalised inputs is found by reading the
bundled example digits both ways.

A convolution's weights are (out, in, kh, kw), a linear layer's (out, in): the layers chain
by their channel counts, so their order is known without trusting the names (a safetensors
file keeps its tensors sorted by name, not in network order). Known variants map exactly:
a `Linear(400, 120)` after LeNet-5's S4 is C5's 5×5 convolution with its weights reshaped
(16 maps of 5×5 flattened channel-major are the 400 inputs)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .models import ARCHS, MNIST_MEAN, MNIST_STD, TinyCNN, build

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "digits"

# each architecture as the shapes of its weighted layers, in order, with the app's names
LENET5 = [("C1", (6, 1, 5, 5)), ("C3", (16, 6, 5, 5)), ("C5", (120, 16, 5, 5)), ("F6", (84, 120)),
          ("OUTPUT", (10, 84))]
TEMPLATES = [  # (architecture, what is different, layer shapes)
    ("lenet5", "", LENET5),
    # LeNet-5 as many write it (a "SimpleCNN"): C5 a Linear(16·5·5 → 120) after flattening S4
    ("lenet5", "its Linear(400, 120) read as C5's 5×5 convolution", LENET5[:2] + [("C5", (120, 400))] + LENET5[3:]),
]


def tinycnn(c1: int, c2: int) -> list:
    """TinyCNN's layer shapes at any widths (16/32 for most checkpoints)."""
    return [("conv1", (c1, 1, 3, 3)), ("conv2", (c2, c1, 3, 3)), ("fc", (10, c2 * 7 * 7))]


def _templates(got: list) -> list:
    """The fixed templates, and TinyCNN at the widths these layers have (if they look like it)."""
    c1, c2 = (got[0][0], got[1][0]) if len(got) == 3 and len(got[0]) == 4 == len(got[1]) else (16, 32)
    return TEMPLATES + [("tinycnn", "", tinycnn(c1, c2))]


class NotRecognised(ValueError):
    """Tensors that fit none of the app's networks; the message says which did not fit."""


@dataclass
class Recognised:
    arch: str
    tensors: dict  # under the app's names, shaped as the app's modules hold them
    how: str  # one sentence for the learner: what was recognised, and from what


def _layers(tensors: dict) -> list[tuple[str, torch.Tensor, torch.Tensor | None]]:
    """(module name, weight, bias) of every weighted layer; anything else is refused by name."""
    extra = [k for k in tensors if not (k.endswith(".weight") or k.endswith(".bias"))]
    if any(k.endswith(("running_mean", "running_var")) for k in extra):
        raise NotRecognised("its tensors include batch normalisation (running_mean, running_var), which "
                            "neither LeNet-5 nor TinyCNN has")
    extra = [k for k in extra if not k.endswith("num_batches_tracked")]
    if extra:
        raise NotRecognised(f"tensors that are neither weights nor biases: {', '.join(map(repr, extra[:4]))}")
    out = []
    for k, w in tensors.items():
        if k.endswith(".weight"):
            prefix = k[:-len(".weight")]
            out.append((prefix, w, tensors.get(prefix + ".bias")))
    orphans = [k for k in tensors if k.endswith(".bias") and k[:-len(".bias")] + ".weight" not in tensors]
    if orphans:
        raise NotRecognised(f"biases without weights: {', '.join(map(repr, orphans[:4]))}")
    return out


def _in_order(layers) -> list:
    """The layers in network order: convolutions from the one that takes 1 channel, each
    taking the previous one's outputs; then the linear layers, ending in 10 outputs."""
    convs = [la for la in layers if la[1].ndim == 4]
    lins = [la for la in layers if la[1].ndim == 2]
    odd = [la for la in layers if la[1].ndim not in (2, 4)]
    if odd:
        raise NotRecognised(f"{odd[0][0]}.weight has shape {list(odd[0][1].shape)}, neither a convolution's "
                            "nor a linear layer's")
    ordered, channels = [], 1
    while convs:
        nxt = [la for la in convs if la[1].shape[1] == channels]
        if len(nxt) != 1:
            raise NotRecognised(f"its convolutions do not chain ({_shapes(convs)} left after {channels} channels)")
        ordered.append(nxt[0])
        convs.remove(nxt[0])
        channels = nxt[0][1].shape[0]
    tail, outputs = [], 10
    while lins:
        prev = [la for la in lins if la[1].shape[0] == outputs]
        if len(prev) != 1:
            raise NotRecognised(f"its linear layers do not chain to 10 outputs ({_shapes(lins)})")
        tail.insert(0, prev[0])
        lins.remove(prev[0])
        outputs = prev[0][1].shape[1]
    return ordered + tail


def _shapes(layers) -> str:
    return ", ".join(f"{n}.weight {list(w.shape)}" for n, w, _ in layers)


def recognise(tensors: dict) -> Recognised:
    """Which of the app's networks these tensors are, renamed and reshaped onto it."""
    layers = _in_order(_layers(tensors))
    got = [tuple(w.shape) for _, w, _ in layers]
    for arch, variant, template in _templates(got):
        if got != [shape for _, shape in template]:
            continue
        kw = {"widths": (got[0][0], got[1][0])} if arch == "tinycnn" else {}
        try:
            app_model = build(arch, **kw)
        except ValueError:  # wider than the app serves
            raise NotRecognised(f"it has TinyCNN's shape with {got[0][0]}/{got[1][0]} filters, wider than the "
                                f"app serves (at most {TinyCNN.MAX_WIDTHS[0]}/{TinyCNN.MAX_WIDTHS[1]})") from None
        want = app_model.state_dict()
        out, notes = {}, []
        for (name, w, b), (app_name, _) in zip(layers, template):
            w_shape = tuple(want[f"{app_name}.weight"].shape)
            out[f"{app_name}.weight"] = w.reshape(w_shape)
            if b is None:
                b = torch.zeros(w_shape[0], dtype=w.dtype)
                notes.append(f"{name} has no bias (zeros used)")
            out[f"{app_name}.bias"] = b
        renamed = [f"{n} → {a}" for (n, _, _), (a, _) in zip(layers, template) if n != a]
        how = [f"Recognised as {app_model.title} from its tensors' shapes"] + ([variant] if variant else [])
        if renamed:
            how.append("layers renamed " + ", ".join(renamed))
        return Recognised(arch, out, "; ".join(how + notes) + ".")
    need = "; ".join(f"{ARCHS[arch].title}{' with C5 as a Linear(400, 120)' if v else ''}"
                     f": {', '.join(str(list(s)) for _, s in template)}" for arch, v, template in TEMPLATES)
    need += "; TinyCNN: [c1, 1, 3, 3], [c2, c1, 3, 3], [10, c2·49] (16/32 as a rule)"
    raise NotRecognised(f"its layers ({_shapes(layers)}) fit none of the app's networks ({need})")


def example_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The bundled MNIST test digits as the network's inputs, and their labels."""
    from PIL import Image

    from .preprocess import preprocess
    files = sorted(EXAMPLES.glob("*label*.png"))
    x = torch.cat([preprocess(np.asarray(Image.open(p).convert("L"))).tensor() for p in files])
    y = torch.tensor([int(p.stem.rsplit("label", 1)[1]) for p in files])
    return x, y


def probe_digits() -> tuple[torch.Tensor, torch.Tensor, str]:
    """Digits to tell the two normalisations apart: 2,000 MNIST test digits when a local copy is
    at hand (a network reads its own kind of input best, by a point or more), else the ten
    bundled examples, each also turned, scaled and thickened 30 ways (a weaker test)."""
    from .data import DataError, cached, local_folder, to_float
    folder = local_folder()
    if folder is not None:
        try:
            d = cached(folder)
            return to_float(d.raw("test")[:2000]), d.labels("test")[:2000], "2,000 MNIST test digits"
        except DataError:
            pass
    from .augment import random_affine, random_thickness
    x, y = example_digits()
    g = torch.Generator().manual_seed(0)
    xs = [x] + [random_thickness(random_affine(x, g, max_rot=30, scale=(0.7, 1.2)), g) for _ in range(30)]
    return torch.cat(xs), y.repeat(len(xs)), f"{len(xs) * len(y)} distorted example digits (no local MNIST copy)"


SAID = {(MNIST_MEAN, MNIST_STD): "MNIST-normalised inputs", (0.0, 1.0): "raw [0, 1] inputs"}


@torch.inference_mode()
def normalisation(arch: str, tensors: dict) -> tuple[float, float, str]:
    """(mean, std, a sentence): the input normalisation under which the network reads digits
    best — MNIST's (0.1307, 0.3081) or none (0, 1); a tie goes to MNIST's."""
    x, y, source = probe_digits()
    acc = {}
    for mean, std in SAID:
        m = build(arch, mean=mean, std=std, **ARCHS[arch].cls.kwargs_for(tensors))
        m.load_state_dict(tensors)
        acc[(mean, std)] = float((m.eval()(x).argmax(1) == y).float().mean())
    best = max(SAID, key=lambda k: acc[k])  # SAID lists MNIST's first: it wins a tie
    other = next(k for k in SAID if k != best)
    return best[0], best[1], (f"it expects {SAID[best]}: it reads {acc[best]:.1%} of {source} that way, "
                              f"{acc[other]:.1%} with {SAID[other]}")


__all__ = ["recognise", "normalisation", "Recognised", "NotRecognised", "TEMPLATES", "tinycnn"]
