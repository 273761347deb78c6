"""The app as a ZeroGPU Space runs it: the real `spaces` package in ZeroGPU mode, started first
(tests/zerogpu_app.py), its device API answered on loopback by tests/fake_zerogpu.py, and the
app's own server in its own process, spoken to over HTTP.

On this machine the worker that `spaces` forks cannot start CUDA: a run then meets exactly
what a Space without a GPU to give meets. The `standin` app lets that worker skip CUDA's start,
so that the schedule, the fork, the records crossing back, a stop and a visitor leaving run
through the real `spaces` code, the training itself on the worker's CPU."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from gradio_client import Client, handle_file

from conftest import MNIST_DIR, ROOT
from fake_zerogpu import ANONYMOUS, FakeZeroGPU, ip_token
from server import AppServer, call, upload

SEVEN = ROOT / "examples" / "digits" / "mnist-test-0000-label7.png"
TINY_RUN = dict(arch="lenet5", epochs=1, batch_size=256, train_size=512, seed=0)


def zero_app(tmp, api: FakeZeroGPU, standin: bool) -> AppServer:
    cgroup = tmp / "cgroup"  # what `spaces` names the app's devices by
    cgroup.write_text("0::/zerogpu-test\n")
    env = {"SPACES_ZERO_GPU": "true", "SPACES_ZERO_DEVICE_API_URL": api.url, "CNN_DEMO_DATA": str(MNIST_DIR),
           "ZEROGPU_PROC_SELF_CGROUP_PATH": str(cgroup), "CNN_DEMO_TEST_GPU_STANDIN": "1" if standin else "0"}
    return AppServer(tmp, env=env, script=ROOT / "tests" / "zerogpu_app.py")


@pytest.fixture(scope="module")
def device_api():
    api = FakeZeroGPU()
    yield api
    api.close()


@pytest.fixture(scope="module")
def space(tmp_path_factory, device_api):
    """A ZeroGPU Space whose worker cannot start CUDA (this machine has none)."""
    srv = zero_app(tmp_path_factory.mktemp("zerogpu"), device_api, standin=False)
    yield srv
    srv.close()


@pytest.fixture
def api(device_api):
    """The device API as a Space meets it at first: a GPU at once, a fresh quota, tasks up to 5 minutes."""
    device_api.mode, device_api.max_duration = "gpu", 300.0
    return device_api


def train(url: str, token: str | None, **kw) -> list[dict]:
    """/train's records, the visitor's quota header sent as the Hub's proxy sends it."""
    client = Client(url, verbose=False, headers={"X-IP-Token": token} if token else None)
    job = client.submit(**{**TINY_RUN, **kw}, api_name="/train")
    job.result(timeout=240)
    return list(job.outputs())


def worker_tracebacks_only(srv: AppServer, since: int) -> bool:
    """Whatever the server printed holds no traceback but those `spaces` prints for its worker
    (here: CUDA that cannot start), i.e. the app's own code raised nothing."""
    out = srv.output()[since:]
    return all("spaces/zero/wrappers.py" in block.split("\n\n")[0]
               for block in out.split("Traceback (most recent call last):")[1:])


def test_the_space_reports_its_start_to_zerogpu(space, api):
    assert api.startup_reports >= 1  # `spaces` found the decorated training function at launch


def test_sixteen_learners_asking_four_times_at_once_are_all_answered(space, api):
    """On a ZeroGPU Space Gradio holds 1 event in its queue unless the app says otherwise."""
    body = SEVEN.read_bytes()
    before = len(api.grants)

    def learner(i):
        f = upload(space.url, body)
        with ThreadPoolExecutor(4) as ex:
            return list(ex.map(lambda _: call(space.url, "classify", [f, "lenet5"], session=f"s{i}-{_}"), range(4)))
    with ThreadPoolExecutor(16) as ex:
        answers = [a for one in ex.map(learner, range(16)) for a in one]
    refused = [a for a in answers if a[0] != "ok"]
    assert not refused, f"{len(refused)} of 64 refused, e.g. {refused[:2]}"
    assert all(max(out[0], key=out[0].get) == "7" for _, out in answers)
    assert len(api.grants) == before  # drawing never asks ZeroGPU for anything


def test_a_run_whose_gpu_cannot_start_trains_on_the_cpu_and_says_why(space, api):
    mark, before = space.mark(), len(api.grants)
    records = train(space.url, None, name="zero-nogpu")
    notes = [r["note"] for r in records if "note" in r]
    assert notes == ["The GPU could not be started for this run (RuntimeError). It trains on the CPU instead: "
                     "slower, and the same kind of network at the end."]
    assert records[-1]["checkpoint"] == "zero-nogpu" and records[-1]["test_accuracy"] > 0
    grant = api.grants[before]
    assert grant.answer == "gpu" and grant.failed  # the GPU was given, and given back as failed
    probs = Client(space.url, verbose=False).predict(handle_file(str(SEVEN)), "zero-nogpu", api_name="/classify")
    assert sorted(probs) == [str(d) for d in range(10)]
    assert worker_tracebacks_only(space, mark)


@pytest.mark.parametrize("setup,said", [
    ("quota", "Your free GPU time on this Space is used up for now"),
    ("busy", "No GPU was free in time"),
    ("queue-fail", "No GPU was free in time"),
    ("too-long", "This run would hold the GPU longer than one ZeroGPU task may."),
], ids=["quota-spent", "no-gpu-503", "queue-timed-out", "duration-over-the-maximum"])
def test_every_gpu_refusal_is_said_in_the_apps_words_and_the_run_still_trains(space, api, setup, said):
    visitor = ip_token(f"learner-{setup}")
    if setup == "quota":
        api.spend(api.left(visitor) - 5, visitor)  # 5 s left: less than any run declares
    elif setup == "too-long":
        api.max_duration = 5
    else:
        api.mode = setup
    before, mark = len(api.grants), space.mark()
    records = train(space.url, visitor, name=f"zero-{setup}")
    notes = [r["note"] for r in records if "note" in r]
    assert len(notes) == 1 and notes[0].startswith(said) and "It trains on the CPU instead" in notes[0]
    assert "Space app has reached its GPU limit" not in notes[0]  # ZeroGPU's words, not the app's
    assert records[-1]["checkpoint"] == f"zero-{setup}"
    grant = api.grants[before]
    assert grant.token == visitor  # the visitor's header reached ZeroGPU: their quota, not the Space's
    assert grant.answer != "gpu"
    assert not space.tracebacks(mark)


def test_gpu_failures_are_sentences_for_a_learner():
    """Each way `spaces` reports a failure (gr.Error titles and texts, RuntimeError) maps to the app's sentence."""
    import gradio as gr

    from cnn_demo.serve.gpu import failure
    cases = {
        ("ZeroGPU quota exceeded", "Space app has reached its GPU limit. Try re-running outside of examples"):
            "Your free GPU time",
        ("ZeroGPU quota exceeded", "You have exceeded your free ZeroGPU quota (17s requested vs. 5s left)."):
            "Your free GPU time",
        ("ZeroGPU quota exceeded", "No GPU was available after 60s. Try re-running outside of examples"):
            "No GPU was free in time",
        ("ZeroGPU queue timeout", "No GPU was available after 60s"): "No GPU was free in time",
        ("ZeroGPU client error", "No GPU was available"): "No GPU was free in time",
        ("ZeroGPU illegal duration", "The requested GPU duration (999s) is larger than the maximum allowed"):
            "This run would hold the GPU longer",
        ("ZeroGPU worker error", "GPU task aborted"): "The GPU stopped this run before it ended",
        ("ZeroGPU worker error", "RuntimeError"): "The GPU could not be started for this run (RuntimeError).",
        ("ZeroGPU pending credits exceeded", "You have too many ZeroGPU credits allocated"): "Your free GPU time",
    }
    for (title, message), said in cases.items():
        assert failure(gr.Error(message, title=title)).startswith(said), (title, message)
    assert failure(RuntimeError("Connection closed by visitor while queueing")) == \
        "No GPU could be had for this run (RuntimeError)."


def test_a_run_declares_the_gpu_seconds_it_needs():
    """A visitor's quota (~2 minutes a day without a login) buys as many runs as it can: the
    Train tab's first run asks for well under a minute, a larger run for more, the largest one the
    app allows for MAX_GPU_SECONDS; each stops itself in time to save before what it declared is up."""
    from cnn_demo.serve.gpu import MAX_GPU_SECONDS, SAVE_SECONDS, WORKER_SECONDS, gpu_seconds, run_seconds
    from cnn_demo.train import TrainConfig
    from cnn_demo.ui.train_tab import DEFAULTS
    first = TrainConfig.make(**DEFAULTS)  # the tab's defaults
    full = TrainConfig.make("lenet5", 2, 256, train_size=0)
    biggest = TrainConfig.make("tinycnn", 50, 160, train_size=60000)  # 18,750 steps: under the 20,000 bound
    assert gpu_seconds(first) <= 20
    assert gpu_seconds(first) < gpu_seconds(full) < gpu_seconds(biggest) == MAX_GPU_SECONDS
    for cfg in (first, full, biggest):
        assert 0 < run_seconds(cfg) and WORKER_SECONDS + run_seconds(cfg) + SAVE_SECONDS <= gpu_seconds(cfg)
    assert run_seconds(first) >= 9  # room for a cold start (MNIST onto the card, the first kernels)


def test_the_app_process_computes_on_the_cpu_under_zerogpu():
    """`spaces` makes torch.cuda.is_available() say True in the app's process; the app's own device
    choice must not believe it (asked in a process started as a ZeroGPU Space starts the app)."""
    from cnn_demo.devices import default_device
    assert default_device() == "cpu"  # this test process: no CUDA and no `spaces` patch
    code = ("import spaces, torch; from cnn_demo.devices import default_device; "
            "print(torch.cuda.is_available(), default_device())")
    env = {**os.environ, "SPACES_ZERO_GPU": "true", "SPACES_ZERO_DEVICE_API_URL": "http://127.0.0.1:9"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["True", "cpu"], out.stderr[-500:]


# ---- the worker with a stand-in for CUDA's start: everything else of ZeroGPU for real ------------
@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    api = FakeZeroGPU()
    srv = zero_app(tmp_path_factory.mktemp("zerogpu-standin"), api, standin=True)
    yield srv, api
    srv.close()
    api.close()


def test_a_run_trains_in_the_gpu_worker_and_its_records_cross_back(standin):
    srv, api = standin
    mark = srv.mark()
    records = train(srv.url, ip_token("ada"), name="zero-worker", train_size=1024, batch_size=128)
    progress = [r for r in records if "progress" in r]
    assert progress and progress[-1]["progress"] == 1.0 and progress[-1]["total_steps"] == 8, records
    assert records[-1]["checkpoint"] == "zero-worker" and not [r for r in records if "note" in r], records
    assert records[-1]["stopped"] is False  # within its own time limit
    grant = api.grants[-1]
    assert grant.answer == "gpu" and grant.token == ip_token("ada") and not grant.failed
    # The run was in a forked worker: forked for this grant (it reports its pid to /allow), or,
    # when an earlier test in this module left one warm (the API answers `idle`), reused.
    worker = grant.pid or next((g.pid for g in reversed(api.grants) if g.pid), None)
    assert worker and worker != srv.proc.pid, api.grants
    assert grant.held is not None and grant.held < grant.duration  # it gave the GPU back within what it asked
    probs = Client(srv.url, verbose=False).predict(handle_file(str(SEVEN)), "zero-worker", api_name="/classify")
    assert sorted(probs) == [str(d) for d in range(10)]
    assert not srv.tracebacks(mark)


def test_a_stop_reaches_the_run_in_the_gpu_worker(standin):
    srv, api = standin
    client = Client(srv.url, verbose=False)
    job = client.submit(**{**TINY_RUN, "epochs": 20, "train_size": 6000, "batch_size": 64}, name="zero-stopped",
                        api_name="/train")
    end = time.time() + 120
    while not [o for o in job.outputs() if "progress" in o] and time.time() < end:
        time.sleep(0.2)
    job_id = next(o["job"] for o in job.outputs() if "job" in o)
    assert client.predict(job_id, api_name="/stop_training")["message"].startswith("Stopping after the current step")
    result = job.result(timeout=120)
    assert result["checkpoint"] == "zero-stopped" and result["stopped"] is True
    assert not api.grants[-1].failed


def test_a_visitor_who_leaves_mid_run_gives_the_gpu_back(standin):
    srv, api = standin
    client = Client(srv.url, verbose=False)
    job = client.submit(**{**TINY_RUN, "epochs": 20, "train_size": 6000, "batch_size": 64}, name="zero-left",
                        api_name="/train")
    end = time.time() + 120
    while not [o for o in job.outputs() if "progress" in o] and time.time() < end:
        time.sleep(0.2)
    grant = api.grants[-1]
    assert grant.held is None  # training, on the GPU
    job.cancel()
    end = time.time() + 60
    while grant.held is None and time.time() < end:
        time.sleep(0.2)
    assert grant.held is not None  # released once the visitor was gone
    # the one training slot is free again: the next learner's run starts and ends
    done = threading.Event()
    out = {}

    def next_run():
        out["records"] = train(srv.url, None, name="zero-after")
        done.set()
    threading.Thread(target=next_run, daemon=True).start()
    assert done.wait(180) and out["records"][-1]["checkpoint"] == "zero-after"
    assert ANONYMOUS in {g.token for g in api.grants}
