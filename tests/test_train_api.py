"""/train and /load_from_hub through a real server and gradio_client."""
import time

import pytest
from gradio_client import Client, handle_file
from PIL import Image

from cnn_demo import strokes
from conftest import ROOT, build_cache_repo


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def test_train_reports_progress_then_classifies_with_the_new_checkpoint(client, tmp_path, pen_digits):
    job = client.submit(arch="tinycnn", epochs=1, batch_size=256, train_size=512, seed=1, name="ci-tiny",
                        api_name="/train")
    while not job.done():
        time.sleep(0.2)
    result = job.result()
    progress = [o for o in job.outputs() if "progress" in o]
    assert progress and progress[-1]["progress"] == 1.0 and progress[0]["total_steps"] == 2
    assert result["checkpoint"] == "ci-tiny" and 0 <= result["test_accuracy"] <= 1
    d = next(d for d in pen_digits if d["label"] == 1)
    path = tmp_path / "one.png"
    Image.fromarray(strokes.render(strokes.place(d["strokes"], 0.6))).save(path)
    probs = client.predict(handle_file(str(path)), "ci-tiny", api_name="/classify")
    assert sorted(probs) == [str(i) for i in range(10)]
    # the name is taken now: nothing saved is overwritten
    with pytest.raises(Exception, match="already has a checkpoint named 'ci-tiny'"):
        client.predict(arch="tinycnn", train_size=512, name="ci-tiny", api_name="/train")


@pytest.mark.parametrize("kw,msg", [
    (dict(arch="alexnet"), "Unknown architecture"),
    (dict(name="../../etc/passwd"), "not a valid checkpoint name"),
    (dict(epochs=0), "Epochs must be"),
    (dict(train_size=10**9), "Training images must be between 100 and 60,000"),
])
def test_train_refuses_bad_settings(client, kw, msg):
    with pytest.raises(Exception, match=msg):
        client.predict(**{"train_size": 256, **kw}, api_name="/train")


def test_load_from_hub_cache_then_classify(client, monkeypatch, tmp_path):
    cache = tmp_path / "hub"
    monkeypatch.setenv("CNN_DEMO_HUB_CACHE", str(cache))
    files = {p.name: p.read_bytes() for p in (ROOT / "checkpoints" / "lenet5").iterdir()}
    build_cache_repo(cache, "teacher/lenet5-mnist", files)
    out = client.predict(repo_id="teacher/lenet5-mnist", api_name="/load_from_hub")
    assert out == {"checkpoint": "hub:teacher/lenet5-mnist@00000000", "found": []}  # it says all: nothing found
    probs = client.predict(handle_file(str(ROOT / "examples" / "digits" / "mnist-test-0000-label7.png")),
                           out["checkpoint"], api_name="/classify")
    assert max(probs, key=probs.get) == "7"
    with pytest.raises(Exception, match="not in the local cache"):
        client.predict(repo_id="nobody/nothing", api_name="/load_from_hub")
    with pytest.raises(Exception, match="not a Hub repo id"):
        client.predict(repo_id="../../etc", api_name="/load_from_hub")


def test_one_training_job_at_a_time_and_the_second_sees_its_place(client):
    first = client.submit(arch="lenet5", epochs=3, batch_size=64, train_size=3000, name="q-first", api_name="/train")
    while not [o for o in first.outputs() if "progress" in o]:
        time.sleep(0.1)
    second = client.submit(arch="tinycnn", epochs=1, batch_size=256, train_size=256, name="q-second",
                           api_name="/train")
    while not second.outputs():
        time.sleep(0.05)
    assert second.outputs()[0]["waiting"] == 1 and not first.done()  # the second waits while the first trains
    assert first.result()["checkpoint"] == "q-first"
    assert second.result()["checkpoint"] == "q-second"


def test_a_run_started_through_the_api_can_be_stopped(client):
    """Nobody could stop a job started through /train; its id (made by the server) stops it."""
    job = client.submit(arch="lenet5", epochs=20, batch_size=32, train_size=3000, name="stop-me", api_name="/train")
    while not [o for o in job.outputs() if "progress" in o]:
        time.sleep(0.1)
    run_id = job.outputs()[0]["job"]
    assert len(run_id) == 16
    out = client.predict(run_id, api_name="/stop_training")
    assert out == {"message": "Stopping after the current step; the best weights so far will be kept."}
    t0 = time.time()
    result = job.result()
    assert result["checkpoint"] == "stop-me" and result["stopped"] is True and time.time() - t0 < 30


def test_a_cancelled_api_run_stops_and_frees_the_slot(client):
    job = client.submit(arch="lenet5", epochs=20, batch_size=32, train_size=3000, name="cancel-me",
                        api_name="/train")
    while not [o for o in job.outputs() if "progress" in o]:
        time.sleep(0.1)
    job.cancel()
    t0 = time.time()
    nxt = client.submit(arch="tinycnn", epochs=1, batch_size=256, train_size=256, name="after-cancel",
                        api_name="/train")
    assert nxt.result()["checkpoint"] == "after-cancel" and time.time() - t0 < 60
