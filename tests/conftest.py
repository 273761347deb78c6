import gzip
import os
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
SHARED = ROOT.parent / "shared" / "data"
MNIST_DIR = SHARED / "mnist"


def write_idx(path: Path, arr: np.ndarray, gz: bool = True):
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    data = header + arr.astype(np.uint8).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        data = gzip.compress(data, compresslevel=1)
    path.write_bytes(data)
    return path


@pytest.fixture(scope="session")
def mnist_dir():
    if not (MNIST_DIR / "t10k-labels-idx1-ubyte.gz").is_file():
        pytest.fail(f"the shared MNIST copy is missing at {MNIST_DIR}")
    return MNIST_DIR


@pytest.fixture(scope="session")
def mnist(mnist_dir):
    from cnn_demo.data import read_folder
    return read_folder(mnist_dir)


@pytest.fixture(scope="session")
def tiny_mnist_dir(tmp_path_factory, mnist):
    """A real IDX folder with 512 training and 256 test digits: training tests stay fast."""
    d = tmp_path_factory.mktemp("tiny_mnist")
    write_idx(d / "train-images-idx3-ubyte", mnist.train_x[:512].numpy())
    write_idx(d / "train-labels-idx1-ubyte", mnist.train_y[:512].numpy())
    write_idx(d / "t10k-images-idx3-ubyte", mnist.test_x[:256].numpy(), gz=False)
    write_idx(d / "t10k-labels-idx1-ubyte", mnist.test_y[:256].numpy(), gz=False)
    return d


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, mnist_dir):
    """The real app, served by a real Gradio server on loopback: a fresh one per test module,
    with its own checkpoint folder and Hub cache, so no module sees what another one added."""
    os.environ["CNN_DEMO_CHECKPOINTS"] = str(tmp_path_factory.mktemp("user_checkpoints"))
    os.environ["CNN_DEMO_HUB_CACHE"] = str(tmp_path_factory.mktemp("hub_cache"))
    os.environ["CNN_DEMO_DATA"] = str(mnist_dir)
    import app as app_module
    from server import close_app, free_port
    demo = app_module.build_app()
    port = free_port()
    app_module.serve(demo, server_name="127.0.0.1", server_port=port, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    close_app(demo)


@pytest.fixture(scope="module")
def app_demo(tmp_path_factory):
    """The app's Blocks, built (not served) on the bundled checkpoints."""
    import app
    from cnn_demo.registry import Registry
    return app.build_app(Registry(user_dir=tmp_path_factory.mktemp("runs")).scan())


@pytest.fixture(scope="session")
def pen_digits():
    import json
    return json.loads((SHARED / "pendigits-dev" / "strokes.json").read_text())


def build_cache_repo(cache: Path, repo_id: str, files: dict, sha: str = "0" * 40, revision: str = "main") -> Path:
    """A Hub cache entry laid out as huggingface_hub lays it out (refs + snapshots)."""
    d = Path(cache) / ("models--" + repo_id.replace("/", "--"))
    (d / "refs").mkdir(parents=True, exist_ok=True)
    (d / "refs" / revision).write_text(sha)
    snap = d / "snapshots" / sha
    for name, data in files.items():
        (snap / name).parent.mkdir(parents=True, exist_ok=True)
        (snap / name).write_bytes(data)
    return snap


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright, one per browser test module (tests/browser.py)."""
    from playwright.sync_api import sync_playwright

    from browser import launch
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """The app's checkpoints for handler tests (no server), with an empty folder of its own."""
    from cnn_demo.registry import Registry
    return Registry(user_dir=tmp_path_factory.mktemp("runs")).scan()


@pytest.fixture(scope="module")
def seven():
    """The example 7 as the canvas holds it: a dict of layers with its composite."""
    from PIL import Image
    img = np.asarray(Image.open(ROOT / "examples" / "digits" / "mnist-test-0000-label7.png").convert("L"))
    return {"background": img, "layers": [], "composite": img}
