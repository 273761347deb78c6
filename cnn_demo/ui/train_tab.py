"""Train tab: train LeNet-5 or TinyCNN in the app with live curves and filter snapshots;
load checkpoints from the Hugging Face Hub and share them there."""
from __future__ import annotations

import itertools
import os
from typing import Iterator

import gradio as gr
import spaces

from .. import checkpoints, hub, train_view
from ..checkpoints import CheckpointError
from ..data import ENV_VAR
from ..jobs import estimate_seconds, request_stop, train_stream
from ..models import ARCHS
from ..registry import Registry
from ..train import OPTIMIZERS, SCHEDULES, TrainConfig
from . import refuse

TRAIN_QUEUE = "train"  # one training job at a time per app; others wait in the queue
_counter = itertools.count(1)
_active: dict[str, str] = {}  # session → its running job


def _duration(cfg, *a, **k) -> int:
    return int(min(600, estimate_seconds(cfg, "cuda")))


@spaces.GPU(duration=_duration)
def gpu_train_stream(cfg: TrainConfig, name: str, out_dir: str, job_id: str, data_dir: str | None):
    """The training stream on the GPU when there is one (ZeroGPU or plain CUDA), else the CPU.
    The run is a child process at low priority, so drawings stay quick while it trains (on the
    CPU it also leaves one core free); on ZeroGPU the GPU belongs to this very process, so
    there it is a thread."""
    zero = spaces.config.Config.zero_gpu
    threads = None if zero or _has_cuda() else max(1, (os.cpu_count() or 2) - 1)
    yield from train_stream(cfg, name, out_dir, job_id, data_dir, threads=threads, isolate=not zero)


def _has_cuda() -> bool:
    import torch
    return torch.cuda.is_available()


def auto_name(registry: Registry, arch: str) -> str:
    on_disk = {p.name for p in registry.user_dir.iterdir()} if registry.user_dir.is_dir() else set()
    taken = set(registry.names()) | on_disk
    for i in itertools.count(1):
        if f"my-{arch}-{i}" not in taken:
            return f"my-{arch}-{i}"


def build(registry: Registry, draw_model: gr.Dropdown | None, model_choices):
    gr.Markdown("### Train your own network\nOn a CPU, try a few thousand training images and one or two "
                "epochs first: a LeNet-5 passes 95 % in under a minute. The curves and the first-layer "
                "filters update as it learns.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=320):
            arch = gr.Dropdown([(i.title, k) for k, i in ARCHS.items()], value="lenet5", label="Architecture",
                               elem_id="tr-arch")
            with gr.Row():
                epochs = gr.Number(1, precision=0, minimum=1, maximum=50, label="Epochs", elem_id="tr-epochs")
                batch = gr.Dropdown([32, 64, 128, 256, 512], value=128, label="Batch size")
            with gr.Row():
                opt = gr.Radio(list(OPTIMIZERS), value="adam", label="Optimizer (SGD uses momentum 0.9)")
                lr = gr.Number(3e-3, minimum=1e-5, maximum=10, label="Learning rate", elem_id="tr-lr")
            schedule = gr.Dropdown(list(SCHEDULES), value="onecycle", label="Learning-rate schedule")
            with gr.Row():
                augment = gr.Checkbox(False, label="Augment (shifts, turns, shears, stroke widths)")
                size = gr.Number(6000, precision=0, minimum=100, maximum=60000,
                                 label="Training images (of 60,000)", elem_id="tr-size")
            with gr.Row():
                seed = gr.Number(0, precision=0, minimum=0, maximum=2**31 - 1, label="Seed")
                name = gr.Textbox("", label="Name for the result (blank: automatic)", max_length=64,
                                  elem_id="tr-name")
            with gr.Row():
                start = gr.Button("Train", variant="primary", elem_id="tr-start")
                stop = gr.Button("Stop (keeps the best so far)", variant="stop", elem_id="tr-stop")
        with gr.Column(scale=2, min_width=480):
            status = gr.Markdown("", elem_id="tr-status")
            progress = gr.HTML(elem_id="tr-progress")
            with gr.Row():
                loss_plot = gr.LinePlot(x="step", y="value", color="series", title="Loss", height=260,
                                        elem_id="tr-loss")
                acc_plot = gr.LinePlot(x="step", y="accuracy", color="series", title="Accuracy", height=260,
                                       y_lim=[0, 1], elem_id="tr-acc")
            snap_slider = gr.Slider(1, 2, 1, step=1, label="Filter snapshot (drag to watch them form)",
                                    interactive=False)
            snaps_html = gr.HTML(elem_id="tr-filters")
    snaps_state = gr.State([])

    with gr.Accordion("Hugging Face Hub: load a checkpoint, or share one", open=False):
        with gr.Row(equal_height=False):
            with gr.Column():
                gr.Markdown("**Load from the Hub** — a model repo holding `model.safetensors` (+ `config.json`) "
                            "for LeNet-5 or TinyCNN. Pickled weights are refused.")
                repo = gr.Textbox(label="Repo id", placeholder="user/lenet5-mnist", elem_id="hub-repo")
                with gr.Row():
                    rev = gr.Textbox(label="Revision (optional)", placeholder="main")
                    sub = gr.Textbox(label="Subfolder (optional)")
                load_btn = gr.Button("Load", elem_id="hub-load")
                load_msg = gr.Markdown(elem_id="hub-load-msg")
            with gr.Column():
                gr.Markdown("**Share on the Hub** — pushes weights, config and a model card. The token is used "
                            "for this one upload and never stored or shown.")
                push_ck = gr.Dropdown(registry.names(), label="Checkpoint", elem_id="hub-push-ck")
                push_repo = gr.Textbox(label="Repo id to create or update", placeholder="you/my-lenet5")
                token = gr.Textbox(label="Hugging Face token (write access)", type="password")
                private = gr.Checkbox(False, label="Private repo")
                push_btn = gr.Button("Push")
                push_msg = gr.Markdown()

    def run(arch_v, epochs_v, batch_v, opt_v, lr_v, sched_v, aug_v, size_v, seed_v, name_v,
            request: gr.Request):
        session = getattr(request, "session_hash", None) or "api"
        try:
            cfg = TrainConfig(arch=arch_v, epochs=int(epochs_v or 1), batch_size=int(batch_v or 128),
                              optimizer=opt_v, lr=float(lr_v or 3e-3), schedule=sched_v, augment=bool(aug_v),
                              train_size=int(size_v or 0), seed=int(seed_v or 0)).check()
            nm = (name_v or "").strip() or auto_name(registry, arch_v)
            checkpoints.check_name(nm)
            if nm in registry.names():
                raise CheckpointError(f"The app already has a checkpoint named {nm!r}; choose another name.")
        except (ValueError, TypeError) as e:
            yield {status: f"⚠️ {e}"}
            return
        job = f"{session}-{next(_counter)}"
        _active[session] = job
        yield {status: f"⏳ Training **{nm}**… (loading MNIST)", progress: "", snaps_html: ""}
        out = None
        try:
            for rec in gpu_train_stream(cfg, nm, str(registry.user_dir), job, os.environ.get(ENV_VAR)):
                if rec["kind"] != "progress":
                    out = rec
                    break
                snaps = rec["snapshots"]
                loss, acc = train_view.loss_frame(rec), train_view.accuracy_frame(rec)
                yield {status: f"⏳ Training **{nm}**…", progress: train_view.progress_html(rec),
                       loss_plot: gr.skip() if loss is None else loss, acc_plot: gr.skip() if acc is None else acc,
                       snaps_state: snaps, snaps_html: train_view.snapshot_html(snaps, len(snaps) - 1),
                       snap_slider: gr.update(maximum=max(2, len(snaps)), value=len(snaps),
                                              interactive=len(snaps) > 1)}
        finally:
            _active.pop(session, None)
        if out is None or out["kind"] == "error":
            yield {status: train_view.done_markdown(out or {"kind": "error", "message": "no result"})}
            return
        try:
            registry.add(checkpoints.load(out["path"], name=nm), "saved")
        except CheckpointError as e:
            yield {status: f"⚠️ The run finished but its checkpoint could not be loaded: {e}"}
            return
        updates = {status: train_view.done_markdown(out), push_ck: gr.update(choices=registry.names(), value=nm)}
        if draw_model is not None:
            updates[draw_model] = gr.update(choices=model_choices())
        yield updates

    def on_stop(request: gr.Request):
        job = _active.get(getattr(request, "session_hash", None) or "api")
        if job is None:
            return "No training of yours is running."
        request_stop(job)
        return "⏹️ Stopping after the current step; the best weights so far will be kept."

    def on_load(repo_v, rev_v, sub_v):
        try:
            ck = hub.load_from_hub(repo_v, rev_v, sub_v)
        except (hub.HubError, CheckpointError) as e:
            return f"⚠️ {e}", gr.update(), gr.update()
        registry.add(ck, "hub")
        msg = f"✅ Loaded **{ck.name}** ({ARCHS[ck.arch].title}); it is in the Draw tab's model list."
        return msg, gr.update(choices=model_choices()) if draw_model is not None else gr.update(), \
            gr.update(choices=registry.names())

    def on_push(name_v, repo_v, token_v, private_v):
        try:
            entry = registry.get(name_v)
            url = hub.push(entry.ck, repo_v, token_v, bool(private_v))
        except (hub.HubError, CheckpointError, KeyError) as e:
            return f"⚠️ {e}"
        return f"✅ Pushed **{name_v}** to [{url}]({url})."

    inputs = [arch, epochs, batch, opt, lr, schedule, augment, size, seed, name]
    outputs = [status, progress, loss_plot, acc_plot, snaps_state, snaps_html, snap_slider, push_ck]
    if draw_model is not None:
        outputs.append(draw_model)
    start.click(run, inputs, outputs, concurrency_limit=1, concurrency_id=TRAIN_QUEUE, api_visibility="private",
                show_progress="minimal")
    stop.click(on_stop, None, status, queue=False, api_visibility="private")
    snap_slider.change(lambda s, i: train_view.snapshot_html(s, int(i) - 1), [snaps_state, snap_slider],
                       snaps_html, show_progress="hidden", api_visibility="private")
    load_outputs = [load_msg, draw_model if draw_model is not None else load_msg, push_ck]
    load_btn.click(on_load, [repo, rev, sub], load_outputs, api_visibility="private")
    push_btn.click(on_push, [push_ck, push_repo, token, private], push_msg, api_visibility="private")

    def train_api(arch: str = "lenet5", epochs: int = 1, batch_size: int = 128, optimizer: str = "adam",
                  lr: float = 0.003, augment: bool = False, train_size: int = 6000, seed: int = 0,
                  name: str = "") -> Iterator[dict]:
        """Train a checkpoint on MNIST in the app. Yields progress records while it runs
        ({"progress": fraction, "step", "total_steps", "test_accuracy"}), then
        {"checkpoint": <name in the app>, "test_accuracy": <float>}."""
        try:
            cfg = TrainConfig(arch=arch, epochs=int(epochs), batch_size=int(batch_size), optimizer=optimizer,
                              lr=float(lr), augment=bool(augment), train_size=int(train_size),
                              seed=int(seed)).check()
            nm = (name or "").strip() or auto_name(registry, arch)
            checkpoints.check_name(nm)
            if nm in registry.names():
                raise CheckpointError(f"The app already has a checkpoint named {nm!r}; choose another name.")
        except (ValueError, TypeError) as e:
            raise refuse(str(e))
        job = f"api-{next(_counter)}"
        for rec in gpu_train_stream(cfg, nm, str(registry.user_dir), job, os.environ.get(ENV_VAR)):
            if rec["kind"] == "progress":
                ev = rec["evals"]
                yield {"progress": rec["step"] / max(rec["total_steps"], 1), "step": rec["step"],
                       "total_steps": rec["total_steps"], "test_accuracy": ev[-1]["test_accuracy"] if ev else None}
            elif rec["kind"] == "error":
                raise refuse(rec["message"])
            else:
                try:
                    registry.add(checkpoints.load(rec["path"], name=nm), "saved")
                except CheckpointError as e:
                    raise refuse(f"The run finished but its checkpoint could not be loaded: {e}")
                yield {"checkpoint": nm, "test_accuracy": rec["test_accuracy"]}

    def load_from_hub_api(repo_id: str, revision: str = "", subfolder: str = "") -> dict:
        """Load a checkpoint from a Hugging Face Hub model repo into the app.
        Returns {"checkpoint": <name in the app>}; usable at once as /classify's model."""
        try:
            ck = hub.load_from_hub(repo_id, revision, subfolder)
        except (hub.HubError, CheckpointError) as e:
            raise refuse(str(e))
        registry.add(ck, "hub")
        return {"checkpoint": ck.name}

    gr.api(train_api, api_name="train", concurrency_limit=1, concurrency_id=TRAIN_QUEUE)
    gr.api(load_from_hub_api, api_name="load_from_hub")
