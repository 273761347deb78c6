"""The training loop, shaped like pytorch/examples' mnist/main.py but with the whole data
set held as tensors on the device: an epoch is a few large tensor ops per batch.

    python -m cnn_demo.train --arch lenet5 --data-dir ../shared/data/mnist --out runs/lenet5
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from . import checkpoints
from .augment import augment as augment_batch
from .data import DataError, MNIST, load_mnist, to_float
from .devices import default_device
from .evaluate import accuracy
from .models import ARCHS, StagedNet, UnknownArch, build, check_widths

OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("onecycle", "cosine", "step", "constant")
PRECISIONS = ("auto", "fp32", "bf16")


@dataclass
class TrainConfig:
    arch: str = "lenet5"
    epochs: int = 3
    batch_size: int = 128
    optimizer: str = "adam"
    lr: float = 3e-3
    schedule: str = "onecycle"
    augment: bool = False
    train_size: int = 0  # 0: all 60,000
    seed: int = 0
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    precision: str = "auto"  # auto | fp32 | bf16 (autocast; auto = bf16 where the hardware has it)
    warp: float = 0.0  # elastic distortion's strength in the augmented share (0: none)
    drawn: float = 0.0  # share of training digits shown as the Draw tab preprocesses them (as_drawn)
    styles: float = 0.0  # share of the drawn 1s, 7s and 9s written the continental way (writing_styles)
    teacher: str = ""  # a checkpoint folder whose answers are learnt too (distillation); command line only
    widths: tuple = ()  # TinyCNN's two filter counts (empty: 16/32); command line only

    def check(self) -> "TrainConfig":
        if self.arch not in ARCHS:
            raise UnknownArch(f"Unknown architecture {self.arch!r}; known: {', '.join(ARCHS)}.")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"Unknown optimizer {self.optimizer!r}; use one of {', '.join(OPTIMIZERS)}.")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"Unknown schedule {self.schedule!r}; use one of {', '.join(SCHEDULES)}.")
        if not 1 <= self.epochs <= 200:
            raise ValueError(f"Epochs must be between 1 and 200, not {self.epochs}.")
        if not 1 <= self.batch_size <= 8192:
            raise ValueError(f"Batch size must be between 1 and 8192, not {self.batch_size}.")
        if not 0 < self.lr <= 10:
            raise ValueError(f"Learning rate must be in (0, 10], not {self.lr}.")
        if self.precision not in PRECISIONS:
            raise ValueError(f"Unknown precision {self.precision!r}; use one of {', '.join(PRECISIONS)}.")
        if self.train_size < 0:
            raise ValueError(f"Training-set size cannot be negative ({self.train_size}).")
        if not 0 <= self.seed < 2**31:
            raise ValueError(f"The seed must be between 0 and {2**31 - 1}, not {self.seed}.")
        if not 0 <= self.warp <= 50:
            raise ValueError(f"The warp must be between 0 and 50, not {self.warp}.")
        if not 0 <= self.drawn <= 1:
            raise ValueError(f"The drawn share must be between 0 and 1, not {self.drawn}.")
        if not 0 <= self.styles <= 1:
            raise ValueError(f"The styled share must be between 0 and 1, not {self.styles}.")
        if self.styles and not self.drawn:
            raise ValueError("Styled digits take the place of drawn ones: give a drawn share too.")
        if not isinstance(self.teacher, str):
            raise ValueError("The teacher must be a checkpoint folder's path.")
        if self.widths:
            if self.arch != "tinycnn":
                raise ValueError(f"Widths are TinyCNN's; {self.arch} has its own.")
            self.widths = check_widths(self.widths)
        return self

    @classmethod
    def make(cls, arch="lenet5", epochs=3, batch_size=128, optimizer="adam", lr=3e-3, schedule="onecycle",
             augment=False, train_size=0, seed=0, weight_decay=0.0, label_smoothing=0.0, precision="auto",
             warp=0.0, drawn=0.0, teacher="", widths=(), styles=0.0, *, hosted: bool = True) -> "TrainConfig":
        """The one way a configuration is made — the CLI, the Train tab, /train and a run's own
        process alike: every value read as its type (a sentence when it cannot be), checked,
        and, for a run the app hosts, bounded (`limits.check_training`)."""
        from .limits import check_training
        cfg = cls(arch=_text(arch, "The architecture"), epochs=_whole(epochs, "Epochs"),
                  batch_size=_whole(batch_size, "Batch size"), optimizer=_text(optimizer, "The optimizer"),
                  lr=_real(lr, "The learning rate"), schedule=_text(schedule, "The schedule"),
                  augment=_flag(augment, "Augment"), train_size=_whole(train_size or 0, "Training images"),
                  seed=_whole(seed or 0, "The seed"), weight_decay=_real(weight_decay, "The weight decay"),
                  label_smoothing=_real(label_smoothing, "The label smoothing"),
                  precision=_text(precision, "The precision"), warp=_real(warp, "The warp"),
                  drawn=_real(drawn, "The drawn share"), teacher=str(teacher or ""),
                  widths=_widths(widths), styles=_real(styles, "The styled share")).check()
        if hosted:
            check_training(cfg.epochs, cfg.batch_size, cfg.train_size)
            if cfg.teacher or cfg.drawn or cfg.widths:  # a path on the server, minutes of its CPU: not for visitors
                raise ValueError("A teacher network, drawn digits and other widths are for training from the "
                                 "command line.")
        return cfg


def _whole(v, name: str) -> int:
    try:
        f = float(v)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be a whole number, not {str(v)[:20]!r}.") from None
    if not math.isfinite(f) or f != int(f):
        raise ValueError(f"{name} must be a whole number, not {str(v)[:20]!r}.")
    return int(f)


def _widths(v) -> tuple:
    if v is None or isinstance(v, (list, tuple)) and len(v) == 0:
        return ()
    if not isinstance(v, (list, tuple)) or len(v) != 2:
        raise ValueError(f"Widths are two numbers of filters, not {str(v)[:30]!r}.")
    return tuple(_whole(w, "A width") for w in v)


def _real(v, name: str) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be a number, not {str(v)[:20]!r}.") from None
    if not math.isfinite(f):
        raise ValueError(f"{name} must be a finite number, not {str(v)[:20]!r}.")
    return f


def _text(v, name: str) -> str:
    if not isinstance(v, str):
        raise ValueError(f"{name} must be given by name (text), not {str(v)[:20]!r}.")
    return v.strip()[:40]


def _flag(v, name: str) -> bool:
    if not isinstance(v, (bool, int)) or v not in (0, 1):
        raise ValueError(f"{name} must be true or false, not {str(v)[:20]!r}.")
    return bool(v)


@dataclass
class TrainResult:
    model: StagedNet  # the final weights; if stopped early, the best evaluated so far
    config: TrainConfig
    history: list = field(default_factory=list)  # one dict per evaluation
    test_accuracy: float = 0.0  # of `model`
    train_seconds: float = 0.0
    stopped: bool = False

    def meta(self) -> dict:
        return {"test_accuracy": round(self.test_accuracy, 4), "epochs": self.config.epochs,
                "seed": self.config.seed, "train_seconds": round(self.train_seconds, 1),
                "train_config": asdict(self.config),
                "epochs_completed": sum(1 for h in self.history if h.get("epoch_end"))}


def use_bf16(precision: str, device: str) -> bool:
    """bf16 autocast pays off on GPUs and on CPUs with AMX/AVX-512 bf16 units (oneDNN);
    elsewhere it is emulated and slower, so "auto" keeps fp32 there."""
    if precision != "auto":
        return precision == "bf16"
    if device.startswith("cuda"):
        return torch.cuda.is_bf16_supported()
    cpu = getattr(torch, "cpu", None)
    return bool(cpu and getattr(cpu, "_is_amx_tile_supported", lambda: False)()
                and getattr(cpu, "_is_avx512_bf16_supported", lambda: False)())


def make_optimizer(model, cfg: TrainConfig, steps: int):
    if cfg.optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9, nesterov=True,
                              weight_decay=cfg.weight_decay)
    if cfg.schedule == "onecycle" and steps >= 4:
        # each phase needs at least a step (torch divides by the phase length)
        pct = min(0.5, max(0.25, 2.0 / steps))
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps, pct_start=pct)
    elif cfg.schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    elif cfg.schedule == "step":
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, steps // 3), gamma=0.1)
    else:
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
    return opt, sched


def distillation(logits: torch.Tensor, teacher: torch.nn.Module, x: torch.Tensor, t: float = 4.0) -> torch.Tensor:
    """Hinton et al. (2015): match the teacher's softened answers on the same (augmented)
    images. A small network learns from how a larger one ranks the wrong classes (this 9
    looks a little like a 3, not at all like a 1), not only from the one right label."""
    with torch.no_grad():
        soft = F.softmax(teacher(x).float() / t, 1)
    return F.kl_div(F.log_softmax(logits / t, 1), soft, reduction="batchmean") * t * t


def first_layer_filters(model: StagedNet) -> torch.Tensor:
    conv = next(m for m in model.children() if isinstance(m, torch.nn.Conv2d))
    return conv.weight.detach().to("cpu", copy=True)


def train(cfg: TrainConfig, data: MNIST, device: str | None = None,
          on_event: Callable[[dict], None] | None = None,
          should_stop: Callable[[], bool] | None = None,
          evals_per_epoch: int = 1, model: StagedNet | None = None) -> TrainResult:
    """Train `cfg.arch` on `data`; evaluate on the test set `evals_per_epoch` times an epoch.

    `on_event` gets a dict after every step ("step") and evaluation ("eval"); time spent
    evaluating and in callbacks is not counted in `train_seconds`. `should_stop` is
    polled every step: training then ends cleanly, keeping the best weights so far.
    `model` trains a variant instead of a fresh `cfg.arch` (benchmarks/wider_tinycnn.py).
    """
    cfg.check()
    device = device or default_device()
    torch.manual_seed(cfg.seed)
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    x, y = data.raw("train", device), data.labels("train", device)
    xd = None
    if cfg.drawn:
        from .as_drawn import cached as drawn_copy
        xd = drawn_copy(data.train_x)
        if cfg.styles:
            from .writing_styles import styled
            for i, img in styled(data.train_x.numpy(), data.train_y.numpy(), cfg.styles, cfg.seed).items():
                xd[i] = torch.from_numpy(img)
        xd = xd.to(device).unsqueeze(1)
    if cfg.train_size:
        idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(cfg.seed))[:cfg.train_size].to(device)
        x, y = x[idx], y[idx]
        xd = None if xd is None else xd[idx]
    tx, ty = data.raw("test", device), data.labels("test", device)
    if model is None:
        model = build(cfg.arch, **({"widths": cfg.widths} if cfg.widths else {}))
    model = model.to(device)
    teacher = checkpoints.load(cfg.teacher, device=device).model.eval() if cfg.teacher else None
    if device == "cpu":
        model = model.to(memory_format=torch.channels_last)
    n = len(x)
    steps_per_epoch = max(1, -(-n // cfg.batch_size))
    total = steps_per_epoch * cfg.epochs
    opt, sched = make_optimizer(model, cfg, total)
    bf16 = use_bf16(cfg.precision, device)
    dev_type = "cuda" if device.startswith("cuda") else "cpu"
    eval_at = {round(steps_per_epoch * (i + 1) / evals_per_epoch) for i in range(evals_per_epoch)}
    result = TrainResult(model=model, config=cfg)
    best_state, step, t_train = None, 0, 0.0

    def evaluate(epoch, i, loss, acc, epoch_end):
        nonlocal best_state
        model.eval()
        test_acc = accuracy(model, tx, ty)
        model.train()
        ev = {"kind": "eval", "epoch": epoch + i / steps_per_epoch, "step": step, "total_steps": total,
              "train_loss": loss, "train_accuracy": acc, "test_accuracy": test_acc,
              "train_seconds": t_train, "epoch_end": epoch_end, "filters": first_layer_filters(model)}
        result.history.append({k: v for k, v in ev.items() if k != "filters"})
        if test_acc > result.test_accuracy or best_state is None:
            result.test_accuracy = test_acc
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if on_event:
            on_event(ev)

    if on_event:
        on_event({"kind": "init", "step": 0, "total_steps": total, "filters": first_layer_filters(model)})
    model.train()
    for epoch in range(cfg.epochs):
        perm = torch.randperm(n, device=device, generator=gen)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        seen = 0
        for i in range(1, steps_per_epoch + 1):
            t0 = time.perf_counter()
            b = perm[(i - 1) * cfg.batch_size: i * cfg.batch_size]
            xb, yb = x[b], y[b]
            if xd is not None:
                pick = torch.rand(len(b), 1, 1, 1, device=device, generator=gen) < cfg.drawn
                xb = torch.where(pick, xd[b], xb)
            xb = to_float(xb)
            if cfg.augment:
                xb = augment_batch(xb, gen, warp=cfg.warp)
            if device == "cpu":
                xb = xb.contiguous(memory_format=torch.channels_last)
            with torch.autocast(dev_type, dtype=torch.bfloat16, enabled=bf16):
                logits = model(xb)
                loss = F.cross_entropy(logits.float(), yb, label_smoothing=cfg.label_smoothing)
                if teacher is not None:
                    loss = 0.5 * loss + 0.5 * distillation(logits.float(), teacher, xb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            loss_sum += loss.detach() * len(b)
            correct += (logits.detach().argmax(1) == yb).sum()
            seen += len(b)
            if device != "cpu":
                torch.cuda.synchronize()
            t_train += time.perf_counter() - t0
            stop = bool(should_stop and should_stop())
            if on_event:
                on_event({"kind": "step", "epoch": epoch, "step": step, "total_steps": total,
                          "loss": float(loss.detach()), "train_seconds": t_train})
            if i in eval_at or stop:
                evaluate(epoch, i, float(loss_sum) / seen, int(correct) / seen, i == steps_per_epoch)
            if stop:
                result.stopped = True
                break
        if result.stopped:
            break
    if result.stopped:
        model.load_state_dict(best_state)
    else:
        result.test_accuracy = result.history[-1]["test_accuracy"]
    result.model = model.to("cpu", memory_format=torch.contiguous_format).eval()
    result.train_seconds = t_train
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m cnn_demo.train", description="Train a CNN on MNIST.")
    p.add_argument("--arch", default="lenet5", help=f"one of {', '.join(ARCHS)}")
    p.add_argument("--data-dir", help="folder with the four MNIST IDX files (default: $CNN_DEMO_DATA, else download)")
    p.add_argument("--out", required=True, help="checkpoint folder to write (model.safetensors + config.json)")
    d = TrainConfig()
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--optimizer", default=d.optimizer, choices=OPTIMIZERS)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--schedule", default=d.schedule, choices=SCHEDULES)
    p.add_argument("--augment", action="store_true", help="random shifts, rotations, scales and stroke widths")
    p.add_argument("--train-size", type=int, default=0, help="use only this many training images (0: all)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--weight-decay", type=float, default=d.weight_decay)
    p.add_argument("--label-smoothing", type=float, default=d.label_smoothing)
    p.add_argument("--precision", default=d.precision, choices=PRECISIONS,
                   help="bf16 autocast for training (auto: where the hardware has bf16 units)")
    p.add_argument("--warp", type=float, default=d.warp,
                   help="with --augment: elastic distortion of this strength (Simard et al. 2003; 0: none)")
    p.add_argument("--drawn", type=float, default=d.drawn,
                   help="share of training digits shown as the Draw tab preprocesses a drawing (0 to 1)")
    p.add_argument("--styles", type=float, default=d.styles,
                   help="with --drawn: share of 1s, 7s and 9s given a flag, a bar or a curled tail (0 to 1)")
    p.add_argument("--teacher", default="", help="a checkpoint folder to distil from (its answers on each batch)")
    p.add_argument("--widths", type=int, nargs=2, default=None, metavar=("CONV1", "CONV2"),
                   help="TinyCNN's filter counts (default 16 32; the bundled checkpoint is 32 64)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    a = p.parse_args(argv)
    try:
        cfg = TrainConfig.make(a.arch, a.epochs, a.batch_size, a.optimizer, a.lr, a.schedule, a.augment,
                               a.train_size, a.seed, a.weight_decay, a.label_smoothing, a.precision,
                               a.warp, a.drawn, a.teacher, a.widths, a.styles, hosted=False)
        checkpoints.check_name(Path(a.out).name)
        data = load_mnist(a.data_dir)
    except (ValueError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from tqdm import tqdm
    bar = tqdm(total=cfg.epochs * -(-(cfg.train_size or len(data.train_y)) // cfg.batch_size),
               unit="step", file=sys.stderr, leave=False, dynamic_ncols=True)

    def report(ev):
        if ev["kind"] == "step":
            bar.update(1)
            bar.set_postfix(loss=f"{ev['loss']:.3f}", refresh=False)
        elif ev["kind"] == "eval" and ev["epoch_end"]:
            bar.write(f"epoch {int(round(ev['epoch'])):3d}  train_loss={ev['train_loss']:.4f}  "
                      f"train_acc={ev['train_accuracy']:.4f}  test_acc={ev['test_accuracy']:.4f}  "
                      f"seconds={ev['train_seconds']:.1f}")

    res = train(cfg, data, a.device, on_event=report)
    bar.close()
    try:
        checkpoints.save(res.model, a.out, {**res.meta(), "name": Path(a.out).name})
    except OSError as e:
        print(f"error: could not write {a.out}: {e}", file=sys.stderr)
        return 1
    print(f"saved {a.out}  test accuracy {res.test_accuracy:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
