"""Train tab: train LeNet-5 or TinyCNN in the app with live curves and filter snapshots;
load checkpoints from the Hugging Face Hub and share them there."""
from __future__ import annotations

import os
from typing import Iterator

import gradio as gr

from .. import checkpoints, drawing, hub, insights
from ..checkpoints import CheckpointError
from ..data import ENV_VAR
from ..jobs import JOB_ID, RunQueue, new_job_id, request_stop
from ..limits import LimitError
from ..models import ARCHS
from ..registry import Registry, UnknownCheckpoint
from ..serve.gpu import train_records
from ..train import OPTIMIZERS, SCHEDULES, TrainConfig
from ..views import train as train_view
from ..views.common import md_text
from . import refuse, say
from .shared import Shared, bound

# what the tab holds as it opens: a LeNet-5 that reads about 96 % of the test digits (95.5-96.6 %
# over seeds 0-7; at batch 128 and learning rate 0.003 it read 87.2-88.8 % over seeds 0-2, below the
# 95 % the tab promised). On an otherwise idle 2-core CPU a run took 9.7-11 s in all, 0.68-0.75 s of it
# on the 188 training steps. README's ZeroGPU table gives the seconds it declares there
DEFAULTS = dict(arch="lenet5", epochs=1, batch_size=32, optimizer="adam", lr=1e-2, schedule="onecycle",
                augment=False, train_size=6000, seed=0)
RUNS = RunQueue()  # one run trains, a few wait; the rest are refused
_active: dict[str, str] = {}  # a browser session → its run's id (the session is a key only, never a path)


def start_run(registry: Registry, arch, epochs, batch_size, optimizer, lr, schedule, augment, train_size, seed,
              name) -> tuple[TrainConfig, str, str]:
    """A run asked for by the Train tab or /train: its configuration, its name (claimed, so no
    other run can take it), and its id, with a place in the line. Raises ValueError (a
    sentence) for anything the app will not run."""
    cfg = TrainConfig.make(arch, epochs, batch_size, optimizer, lr, schedule, augment, train_size, seed)
    if name is not None and not isinstance(name, str):
        raise ValueError("The name must be text.")
    nm = registry.claim((name or "").strip(), cfg.arch)
    job = new_job_id()
    try:
        RUNS.join(job)
    except LimitError:
        registry.release(nm)
        raise
    return cfg, nm, job


def run_records(registry: Registry, cfg: TrainConfig, name: str, job: str) -> Iterator[dict]:
    """{"kind": "waiting", "position": n} while the run waits its turn, then the training
    stream's records (with a "note" where it had to train elsewhere than asked: serve/gpu.py),
    the last of them "done" or "error"; a finished run joins the registry. The place in line and
    the claimed name are given back however it ends."""
    try:
        while not RUNS.wait(job, 1.0):
            if job not in RUNS:
                yield {"kind": "error", "message": "The run was taken out of the waiting line before it started."}
                return
            yield {"kind": "waiting", "position": RUNS.position(job), "job": job}
        for rec in train_records(cfg, name, str(registry.user_dir), job, os.environ.get(ENV_VAR)):
            if rec["kind"] == "done":
                try:
                    registry.add(checkpoints.load(rec["path"], name=name), "saved")
                except CheckpointError as e:
                    rec = {"kind": "error", "message": f"The run finished but its checkpoint could not be loaded: {e}"}
            yield rec
    finally:
        RUNS.leave(job)
        registry.release(name)


def stop_run(job: str | None) -> str:
    """Stop a run: one that trains stops after its current step and keeps its best weights; one
    that waits leaves the line."""
    if not job or job not in RUNS:
        return "No run of yours is training or waiting."
    if RUNS.position(job) == 0:
        request_stop(job)
        return "Stopping after the current step; the best weights so far will be kept."
    RUNS.leave(job)
    return "Taken out of the waiting line."


def load_checkpoint(registry: Registry, repo, revision, subfolder, token=None, inputs="auto"):
    """A Hub checkpoint into the shared list, its dataset views computed at once when MNIST is
    at hand; what to tell the learner (what was found, what was ignored, what is missing)."""
    ck = hub.load_from_hub(repo, revision, subfolder, token, inputs or "auto")
    entry = registry.add(ck, "hub")
    said = [f" {' '.join(entry.ck.found)}"] if entry.ck.found else []
    if entry.ck.notes:
        said.append(f" (Ignored: {'; '.join(entry.ck.notes)}.)")
    try:
        entry.cached("insights", lambda: insights.of_checkpoint(entry.ck))
    except insights.Unavailable:
        said.append(" Its neuron views need a local MNIST copy (CNN_DEMO_DATA) to be computed.")
    return entry.ck, "".join(said)


# how the learner may say what a checkpoint's inputs are, when it does not say itself
INPUT_CHOICES = {"as the checkpoint says (or found from digits)": "auto",
                 "MNIST-normalised (mean 0.1307, std 0.3081)": "mnist", "raw pixels in [0, 1]": "raw"}

# the Train tab's outputs, in order: a run's frames name the ones they change
FRAME = ("status", "progress", "loss", "acc", "snaps", "snaps_html", "snap_slider", "push_ck", "draw_model")


def frame(**changed) -> tuple:
    """One update of the Train tab: the named outputs change, the others are left as they are."""
    return tuple(changed.get(k, gr.skip()) for k in FRAME)


def run(registry: Registry, arch_v, epochs_v, batch_v, opt_v, lr_v, sched_v, aug_v, size_v, seed_v, name_v,
        request: gr.Request):
    """The Train button: a run's records as frames of the tab (status, curves, snapshots, and
    at the end the new checkpoint in the model lists)."""
    session = getattr(request, "session_hash", None)
    try:
        cfg, nm, job = start_run(registry, arch_v, epochs_v, batch_v, opt_v, lr_v, sched_v, aug_v, size_v,
                                 seed_v, name_v)
    except ValueError as e:
        yield frame(status=say(e))
        return
    if session:
        _active[session] = job
    yield frame(status=f"⏳ Training **{md_text(nm)}**… (loading MNIST)", progress="", snaps_html="")
    note = ""  # where the run had to train elsewhere than asked (no GPU to be had): said until it ends
    try:
        for rec in run_records(registry, cfg, nm, job):
            if rec["kind"] == "waiting":
                yield frame(status=f"⏳ **{md_text(nm)}** waits for the one training slot: "
                                   f"{rec['position']} run(s) ahead of it.")
            elif rec["kind"] == "note":
                note = "\n\n" + say(rec["message"], "ℹ️")
                yield frame(status=f"⏳ Training **{md_text(nm)}**…{note}")
            elif rec["kind"] == "progress":
                snaps = rec["snapshots"]
                loss, acc = train_view.loss_frame(rec), train_view.accuracy_frame(rec)
                yield frame(status=f"⏳ Training **{md_text(nm)}**…{note}", progress=train_view.progress_html(rec),
                            loss=gr.skip() if loss is None else loss, acc=gr.skip() if acc is None else acc,
                            snaps=snaps, snaps_html=train_view.snapshot_html(snaps, len(snaps) - 1),
                            snap_slider=gr.update(maximum=max(2, len(snaps)), value=len(snaps),
                                                  interactive=len(snaps) > 1))
            elif rec["kind"] == "error":
                yield frame(status=say(rec["message"]))
            else:
                yield frame(status=train_view.done_markdown(rec, reference(registry, cfg.arch)) + note,
                            push_ck=gr.update(choices=registry.names(), value=nm),
                            draw_model=gr.update(choices=drawing.model_choices(registry)))
    finally:
        if session and _active.get(session) == job:
            del _active[session]


def reference(registry: Registry, arch: str) -> tuple | None:
    """(name, meta) of the bundled checkpoint of this architecture, to compare a run with."""
    entry = registry.peek(arch)
    return (entry.ck.name, entry.ck.meta) if entry is not None and entry.source == "bundled" else None


def intro(registry: Registry) -> str:
    """The tab's first words: what its defaults give (measured: the figures in the comment on
    DEFAULTS), and what more training gives, from the bundled checkpoint's own meta."""
    ref = reference(registry, "lenet5")
    more = ""
    if ref and isinstance(ref[1].get("test_accuracy"), float):
        more = f" The bundled LeNet-5 reads {ref[1]['test_accuracy']:.2%}"
        cfg = ref[1].get("train_config") or {}
        if isinstance(cfg.get("epochs"), int):
            more += f" after {cfg['epochs']} epochs of all 60,000 digits" if not cfg.get("train_size") else \
                f" after {cfg['epochs']} epochs of {cfg['train_size']:,} digits"
            more += ", augmented" if cfg.get("augment") else ""
        more += ": more images and epochs read better, and take longer."
    return ("## Train your own network\nAs it opens, this tab trains a LeNet-5 for 1 epoch on 6,000 of MNIST's "
            "60,000 training digits: it reads about 96% of the 10,000 test digits right (95.5–96.6% over seeds "
            "0 to 7), in about 10 s on an otherwise idle 2-core CPU (longer on a busy one) — most of it starting up, "
            f"testing and saving, under a second on the training steps themselves.{more} The curves and the first-layer filters "
            "update as it learns. A TinyCNN trained here has 16 and 32 filters, the bundled one 32 and 64 (wider "
            "reads more people's handwriting, but trains slower).")


def on_stop(request: gr.Request):
    return say(stop_run(_active.get(getattr(request, "session_hash", None) or "")), "⏹️")


def on_load(registry: Registry, repo_v, rev_v, sub_v, token_v, inputs_v="auto"):
    """Load from the Hub: the sentence, the two model lists, and the token box emptied."""
    try:
        ck, notes = load_checkpoint(registry, repo_v, rev_v, sub_v, token_v, INPUT_CHOICES.get(inputs_v, inputs_v))
    except (hub.HubError, CheckpointError, LimitError) as e:
        return say(e), gr.update(), gr.update(), ""
    msg = (f"✅ Loaded **{md_text(ck.name)}** ({ck.model.title}); it is in the Draw tab's model list."
           f"{md_text(notes)}")
    return msg, gr.update(choices=drawing.model_choices(registry)), gr.update(choices=registry.names()), ""


def on_push(registry: Registry, name_v, repo_v, token_v, private_v):
    """Push to the Hub: the sentence, and the token box emptied whatever happened."""
    try:
        url = hub.push(registry.get(name_v).ck, repo_v, token_v, bool(private_v))
    except (hub.HubError, CheckpointError, UnknownCheckpoint) as e:
        return say(e), ""
    return f"✅ Pushed **{md_text(name_v)}** to {md_text(url)}.", ""


def train_api(registry: Registry, arch: str = "lenet5", epochs: int = 1, batch_size: int = 128,
              optimizer: str = "adam", lr: float = 0.003, augment: bool = False, train_size: int = 6000,
              seed: int = 0, name: str = "") -> Iterator[dict]:
    """Train a checkpoint on MNIST in the app. Yields {"job": id, "waiting": n} while it waits
    for the training slot, {"job": id, "note": sentence} if it cannot train where it should (on
    a ZeroGPU Space: no GPU to be had, so it trains on the CPU), then progress records ({"job",
    "progress": fraction, "step", "total_steps", "test_accuracy"}), then {"checkpoint": <name in
    the app>, "test_accuracy": <float>, "stopped": bool}. /stop_training with the job's id stops
    it (keeping the best weights so far)."""
    try:
        cfg, nm, job = start_run(registry, arch, epochs, batch_size, optimizer, lr, "onecycle", augment,
                                 train_size, seed, name)
    except ValueError as e:
        raise refuse(str(e))
    for rec in run_records(registry, cfg, nm, job):
        if rec["kind"] == "waiting":
            yield {"job": job, "waiting": rec["position"]}
        elif rec["kind"] == "note":
            yield {"job": job, "note": rec["message"]}
        elif rec["kind"] == "progress":
            ev = rec["evals"]
            yield {"job": job, "progress": rec["step"] / max(rec["total_steps"], 1), "step": rec["step"],
                   "total_steps": rec["total_steps"], "test_accuracy": ev[-1]["test_accuracy"] if ev else None}
        elif rec["kind"] == "error":
            raise refuse(rec["message"])
        else:
            yield {"checkpoint": nm, "test_accuracy": rec["test_accuracy"], "stopped": rec["stopped"]}


def stop_training_api(job: str) -> dict:
    """Stop a run started with /train, by the id its first records carry: a training run stops
    after its current step and keeps its best weights; a waiting one leaves the line."""
    if not isinstance(job, str) or not JOB_ID.match(job):
        raise refuse("Give the id of a run: the 'job' of /train's records.")
    return {"message": stop_run(job)}


def load_from_hub_api(registry: Registry, repo_id: str, revision: str = "", subfolder: str = "") -> dict:
    """Load a checkpoint from a Hugging Face Hub model repo into the app. Returns
    {"checkpoint": <name in the app>, "found": [...]}: the name is `hub:owner/repo@commit`,
    usable at once as /classify's model; "found" says what the app worked out itself (the
    architecture of a bare state_dict, the inputs' normalisation; the Train tab's loader can
    override the latter). Public repos only (no token is sent)."""
    try:
        ck, _ = load_checkpoint(registry, repo_id, revision, subfolder)
    except (hub.HubError, CheckpointError, LimitError) as e:
        raise refuse(str(e))
    return {"checkpoint": ck.name, "found": list(ck.found)}


def build(shared: Shared):
    registry = shared.registry
    with gr.Tab("Train & Hub", id="train") as tab:
        gr.Markdown(intro(registry), elem_id="tr-intro")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=320):
                arch = gr.Dropdown([(i.title, k) for k, i in ARCHS.items()], value=DEFAULTS["arch"],
                                   label="Architecture", elem_id="tr-arch")
                with gr.Row():
                    epochs = gr.Number(DEFAULTS["epochs"], precision=0, minimum=1, maximum=50, label="Epochs",
                                       elem_id="tr-epochs")
                    batch = gr.Dropdown([32, 64, 128, 256, 512], value=DEFAULTS["batch_size"], label="Batch size",
                                        elem_id="tr-batch")
                with gr.Row():
                    opt = gr.Radio(list(OPTIMIZERS), value=DEFAULTS["optimizer"],
                                   label="Optimizer (SGD uses momentum 0.9)", elem_id="tr-opt")
                    lr = gr.Number(DEFAULTS["lr"], minimum=1e-5, maximum=10, label="Learning rate", elem_id="tr-lr")
                schedule = gr.Dropdown(list(SCHEDULES), value=DEFAULTS["schedule"], label="Learning-rate schedule",
                                       elem_id="tr-schedule")
                with gr.Row():
                    augment = gr.Checkbox(DEFAULTS["augment"], label="Augment (shifts, turns, shears, stroke widths)",
                                          elem_id="tr-augment")
                    size = gr.Number(DEFAULTS["train_size"], precision=0, minimum=100, maximum=60000,
                                     label="Training images (of 60,000)", elem_id="tr-size")
                with gr.Row():
                    seed = gr.Number(DEFAULTS["seed"], precision=0, minimum=0, maximum=2**31 - 1, label="Seed",
                                     elem_id="tr-seed")
                    name = gr.Textbox("", label="Name for the result (blank: automatic)", max_length=64,
                                      elem_id="tr-name")
                with gr.Row():
                    start = gr.Button("Train", variant="primary", elem_id="tr-start")
                    stop = gr.Button("Stop (keeps the best so far)", variant="stop", elem_id="tr-stop")
            with gr.Column(scale=2, min_width=480):
                status = gr.Markdown("", elem_id="tr-status")
                progress = gr.HTML(elem_id="tr-progress")
                with gr.Row():
                    loss_plot = gr.LinePlot(x="step", y=train_view.LOSS, color="series", title="Loss",
                                            x_title="training step", y_title="loss (cross-entropy)", height=260,
                                            elem_id="tr-loss")
                    acc_plot = gr.LinePlot(x="step", y=train_view.ACCURACY, color="series", title="Accuracy",
                                           x_title="training step", y_title="accuracy (fraction right)",
                                           height=260, y_lim=[0, 1], elem_id="tr-acc")
                snap_slider = gr.Slider(1, 2, 1, step=1, interactive=False, elem_id="tr-snap",
                                        label="Filter snapshot (drag to compare them with the random start)")
                snaps_html = gr.HTML(elem_id="tr-filters")
        snaps_state = gr.State([])

        with gr.Accordion("Hugging Face Hub: load a checkpoint, or share one", open=False):
            with gr.Row(equal_height=False):
                with gr.Column():
                    gr.Markdown("**Load from the Hub** — a model repo holding `model.safetensors` (+ `config.json`) "
                                "for LeNet-5 or TinyCNN — or a bare `state_dict` saved with safetensors, whatever its "
                                "layer names: the architecture is recognised from the tensors' shapes. Pickled "
                                "weights are refused. It joins the model list of everyone using this app, as "
                                "`hub:owner/repo@commit`.")
                    repo = gr.Textbox(label="Repo id", placeholder="user/lenet5-mnist", elem_id="hub-repo")
                    with gr.Row():
                        rev = gr.Textbox(label="Revision (optional)", placeholder="main", elem_id="hub-rev")
                        sub = gr.Textbox(label="Subfolder (optional)", elem_id="hub-sub")
                    load_inputs = gr.Dropdown(list(INPUT_CHOICES), value=next(iter(INPUT_CHOICES)),
                                              label="Its inputs (for a checkpoint that does not say)",
                                              elem_id="hub-inputs")
                    load_token = gr.Textbox(label="Token, only for a private or gated repo (optional)",
                                            type="password", elem_id="hub-load-token")
                    load_btn = gr.Button("Load", elem_id="hub-load")
                    load_msg = gr.Markdown(elem_id="hub-load-msg")
                with gr.Column():
                    gr.Markdown("**Share on the Hub** — pushes weights, config and a model card. The token is used "
                                "for this one upload and never stored or shown.")
                    push_ck = gr.Dropdown(registry.names(), label="Checkpoint", elem_id="hub-push-ck")
                    push_repo = gr.Textbox(label="Repo id to create or update", placeholder="you/my-lenet5",
                                           elem_id="hub-push-repo")
                    token = gr.Textbox(label="Hugging Face token (write access)", type="password", elem_id="hub-token")
                    private = gr.Checkbox(False, label="Private repo", elem_id="hub-private")
                    push_btn = gr.Button("Push", elem_id="hub-push")
                    push_msg = gr.Markdown(elem_id="hub-push-msg")

    outputs = [status, progress, loss_plot, acc_plot, snaps_state, snaps_html, snap_slider, push_ck, shared.model]
    inputs = [arch, epochs, batch, opt, lr, schedule, augment, size, seed, name]
    quiet = dict(api_visibility="private", show_progress="hidden")
    # no concurrency limit here: RUNS decides at once who trains, who waits and who is refused
    start.click(bound(run, registry), inputs, outputs, concurrency_limit=None, api_visibility="private",
                show_progress="minimal")
    stop.click(on_stop, None, status, queue=False, api_visibility="private")
    snap_slider.change(lambda s, i: train_view.snapshot_html(s, int(i) - 1), [snaps_state, snap_slider],
                       snaps_html, **quiet)
    load_btn.click(bound(on_load, registry), [repo, rev, sub, load_token, load_inputs],
                   [load_msg, shared.model, push_ck, load_token],
                   api_visibility="private", concurrency_limit=1, concurrency_id="hub")
    push_btn.click(bound(on_push, registry), [push_ck, push_repo, token, private], [push_msg, token],
                   api_visibility="private", concurrency_limit=1, concurrency_id="hub-push")
    with tab:  # an API endpoint is a component: it must sit in a tab, not between tabs
        gr.api(bound(train_api, registry), api_name="train", concurrency_limit=None)
        gr.api(stop_training_api, api_name="stop_training", concurrency_limit=None, queue=False)
        gr.api(bound(load_from_hub_api, registry), api_name="load_from_hub", concurrency_limit=1,
               concurrency_id="hub")
