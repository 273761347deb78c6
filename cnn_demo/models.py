"""The architectures, each stage a named module so every stage's output can be shown.

Models take images in [0, 1] (white ink on black, like MNIST) and normalise inside
`forward`, so what a learner sees as "the input" is exactly what goes in.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


class UnknownStage(KeyError):
    def __str__(self):
        return self.args[0]


class StagedNet(nn.Sequential):
    """A Sequential whose children are the named stages the UI shows, in order."""

    arch: str = ""

    def __init__(self, stages: "OrderedDict[str, nn.Module]", mean=MNIST_MEAN, std=MNIST_STD):
        super().__init__(stages)
        self.mean, self.std = float(mean), float(std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward((x - self.mean) / self.std)

    def stages(self, x: torch.Tensor):
        """Yield (name, output) for every stage; the last is the logits."""
        x = (x - self.mean) / self.std
        for name, module in self.named_children():
            x = module(x)
            yield name, x

    def kwargs(self) -> dict:
        """The constructor arguments beyond the architecture (saved with a checkpoint)."""
        return {}

    @property
    def title(self) -> str:
        """The architecture's name as the learner reads it."""
        return ARCHS[self.arch].title

    @staticmethod
    def kwargs_for(tensors: dict) -> dict:
        """The constructor arguments a state's tensor shapes imply."""
        return {}

    @property
    def names(self) -> list[str]:
        return [n for n, _ in self.named_children()]

    @property
    def last(self) -> str:
        """The stage that gives the logits."""
        return self.names[-1]

    def stage(self, name: str) -> nn.Module:
        """A stage by its name; an unknown name is refused with the known ones."""
        if not isinstance(name, str) or name not in self._modules:
            raise UnknownStage(f"No stage {str(name)[:40]!r} in {self.arch or 'this network'}; "
                               f"its stages: {', '.join(self.names)}.")
        return self._modules[name]

    def channels(self, name: str) -> int:
        """How many maps (conv) or numbers (linear) a stage gives."""
        m = self.stage(name)
        return m.out_channels if isinstance(m, nn.Conv2d) else m.out_features

    def features(self, x: torch.Tensor, names) -> dict[str, torch.Tensor]:
        """The outputs of the named stages, in the order asked, the way torchvision's
        `create_feature_extractor` gives them: ask for names, get a dict. The pass stops at
        the last stage asked for; gradients flow when the caller enables them."""
        names = list(names)
        for n in names:
            self.stage(n)
        wanted, out = set(names), {}
        for name, y in self.stages(x):
            if name in wanted:
                out[name] = y
                if len(out) == len(wanted):
                    break
        return {n: out[n] for n in names}


class LeNet5(StagedNet):
    """LeCun et al. 1998, with ReLU and max-pooling as taught today."""

    arch = "lenet5"

    def __init__(self, **kw):
        super().__init__(OrderedDict([
            ("C1", nn.Conv2d(1, 6, 5, padding=2)), ("C1_relu", nn.ReLU()),
            ("S2", nn.MaxPool2d(2)),
            ("C3", nn.Conv2d(6, 16, 5)), ("C3_relu", nn.ReLU()),
            ("S4", nn.MaxPool2d(2)),
            ("C5", nn.Conv2d(16, 120, 5)), ("C5_relu", nn.ReLU()),
            ("flatten", nn.Flatten()),
            ("F6", nn.Linear(120, 84)), ("F6_relu", nn.ReLU()),
            ("OUTPUT", nn.Linear(84, 10)),
        ]), **kw)


class TinyCNN(StagedNet):
    """The smallest network that still shows two levels of features. `widths` are its two
    layers' filter counts: 16/32 as every older checkpoint has them; the bundled one is 32/64,
    which reads writers it never saw better (BENCHMARKS.md, "Unseen writers")."""

    arch = "tinycnn"
    MAX_WIDTHS = (64, 128)  # a checkpoint wider than this is refused: every visitor's strokes run through it

    def __init__(self, widths=(16, 32), **kw):
        c1, c2 = check_widths(widths)
        super().__init__(OrderedDict([
            ("conv1", nn.Conv2d(1, c1, 3, padding=1)), ("relu1", nn.ReLU()),
            ("pool1", nn.MaxPool2d(2)),
            ("conv2", nn.Conv2d(c1, c2, 3, padding=1)), ("relu2", nn.ReLU()),
            ("pool2", nn.MaxPool2d(2)),
            ("flatten", nn.Flatten()),
            ("fc", nn.Linear(c2 * 7 * 7, 10)),
        ]), **kw)
        self.widths = (c1, c2)

    def kwargs(self) -> dict:
        return {"widths": self.widths}

    @property
    def title(self) -> str:
        return "TinyCNN" if self.widths == (16, 32) else f"TinyCNN {self.widths[0]}/{self.widths[1]}"

    @staticmethod
    def kwargs_for(tensors: dict) -> dict:
        """The widths a state's tensors were made with (the weights are authoritative)."""
        ws = [tensors.get(f"{n}.weight") for n in ("conv1", "conv2")]
        if all(isinstance(w, torch.Tensor) and w.ndim == 4 for w in ws):
            return {"widths": (int(ws[0].shape[0]), int(ws[1].shape[0]))}
        return {}


def check_widths(widths) -> tuple[int, int]:
    """TinyCNN's two filter counts, whole and within `TinyCNN.MAX_WIDTHS`; a sentence otherwise."""
    try:
        c1, c2 = widths
        ok = all(not isinstance(w, bool) and int(w) == w for w in (c1, c2))
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok or not (1 <= c1 <= TinyCNN.MAX_WIDTHS[0] and 1 <= c2 <= TinyCNN.MAX_WIDTHS[1]):
        raise ValueError(f"TinyCNN's widths are two whole numbers of filters, at most "
                         f"{TinyCNN.MAX_WIDTHS[0]} and {TinyCNN.MAX_WIDTHS[1]}, not {str(widths)[:30]}.")
    return int(c1), int(c2)


@dataclass(frozen=True)
class ArchInfo:
    cls: type
    title: str
    description: str


ARCHS: dict[str, ArchInfo] = {
    "lenet5": ArchInfo(LeNet5, "LeNet-5", "LeCun's 1998 digit reader: C1 S2 C3 S4 C5 F6 OUTPUT"),
    "tinycnn": ArchInfo(TinyCNN, "TinyCNN", "two 3×3 conv layers and one linear layer"),
}


class UnknownArch(ValueError):
    pass


def build(arch: str, **kw) -> StagedNet:
    """A fresh, randomly initialised model of a registered architecture."""
    if arch not in ARCHS:
        raise UnknownArch(f"Unknown architecture {arch!r}; known: {', '.join(ARCHS)}.")
    return ARCHS[arch].cls(**kw)
