"""The bad-input matrix, end to end: every input the app takes over its API, tried with empty,
huge, malformed and hostile values against the real app running in its own process, spoken
to over raw HTTP as any client could (NaN and infinity in the JSON, wrong types, no
session). Each row names the sentence the app must answer with (or the answer it must
give), and after each row the server's own output must hold no traceback: a crash is not
a refusal, even when the client sees an error either way."""
import io
import json
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from cnn_demo import strokes
from conftest import ROOT
from server import AppServer, call, upload

DIGIT = ROOT / "examples" / "digits" / "mnist-test-0000-label7.png"


@pytest.fixture(scope="module")
def app(tmp_path_factory, mnist_dir):
    server = AppServer(tmp_path_factory.mktemp("bad_input"), {"CNN_DEMO_DATA": str(mnist_dir), "HF_HUB_OFFLINE": "1"})
    yield server
    server.close()


def png(img, fmt="PNG", **kw):
    b = io.BytesIO()
    img.save(b, format=fmt, **kw)
    return b.getvalue()


def header_only_png(w: int, h: int, mode: int = 0) -> bytes:
    """A PNG that declares w×h pixels (8-bit gray, or RGBA with mode 6) and holds one tiny IDAT:
    what a hostile visitor sends to make a server allocate w·h bytes. ~100 bytes."""
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, mode, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def digit():
    return Image.open(DIGIT)


def big_jpeg_digit(pen_digits) -> bytes:
    """A 6000×4000 photo-sized JPEG of a pen-drawn 7 (24 megapixels: over the limit for other
    formats, allowed for JPEG, which is decoded at a fraction of its size)."""
    d = next(d for d in pen_digits if d["label"] == 7)
    canvas = strokes.render(strokes.place(d["strokes"], 0.6, canvas=4000), canvas=4000, brush=240)
    img = Image.new("L", (6000, 4000), 255)
    img.paste(Image.fromarray(canvas), (1000, 0))
    return png(img, "JPEG", quality=80)


def float_tiff_digit() -> bytes:
    """The MNIST 7 as a 32-bit float TIFF with values in [0, 1] (as scientific software writes them)."""
    a = np.asarray(digit(), np.float32) / 255
    return png(Image.fromarray(a, mode="F"), "TIFF")


IMAGES = {  # name → (bytes, expected: a digit for an answer, or a piece of the refusal)
    "empty file": (lambda: b"", "not an image this app can read"),
    "non-image bytes": (lambda: b"\x00\x01 not an image at all" * 10, "not an image this app can read"),
    "markup": (lambda: b"<html><script>alert(1)</script></html>", "not an image this app can read"),
    "1x1": (lambda: png(Image.new("L", (1, 1), 0)), "The image is empty: no ink on it"),
    "blank page": (lambda: png(Image.new("L", (400, 400), 255)), "The image is empty: no ink on it"),
    "black page": (lambda: png(Image.new("L", (400, 400), 0)), "The image is empty: no ink on it"),
    "10000x10000": (lambda: png(Image.new("L", (10000, 10000), 255)), "the app reads images up to 4096 pixels a side"),
    "13000x13000 in 100 bytes": (lambda: header_only_png(13000, 13000), "13000×13000 pixels; the app reads images up to 4096 pixels a side"),
    "6300x6300 RGBA in 100 bytes": (lambda: header_only_png(6300, 6300, 6), "6300×6300 pixels; the app reads images up to"),
    "truncated PNG": (lambda: png(digit())[:300], "could not be decoded; it may be truncated"),
    "truncated JPEG": (lambda: png(digit().convert("RGB"), "JPEG")[:400], "could not be decoded; it may be truncated"),
    "16-bit": (lambda: png(Image.fromarray(np.asarray(digit(), np.uint16) * 257)), "7"),
    "palette": (lambda: png(digit().convert("P")), "7"),
    "CMYK JPEG": (lambda: png(digit().convert("CMYK"), "JPEG"), "7"),
    "RGBA transparent": (lambda: png(Image.new("RGBA", (50, 50), (0, 0, 0, 0))), "The image is empty"),
    "GIF": (lambda: png(digit().convert("P"), "GIF"), "7"),
    "float TIFF in [0, 1]": (float_tiff_digit, "7"),
}


def check(app, mark, outcome, expected):
    """The row's outcome is the expected answer or sentence, and the server printed no traceback."""
    status, value = outcome
    assert not app.tracebacks(mark), app.tracebacks(mark)[-3000:]
    if isinstance(expected, str) and len(expected) == 1 and expected.isdigit():  # an answer: the digit read
        assert status == "ok", value
        probs = value[0]
        assert max(probs, key=probs.get) == expected
    else:
        assert status == "error" and value and expected in value, (status, value)


@pytest.mark.parametrize("name", list(IMAGES))
def test_classify_images(app, name):
    make, expected = IMAGES[name]
    mark = app.mark()
    check(app, mark, call(app.url, "classify", [upload(app.url, make(), "x.png"), "lenet5"]), expected)


def test_classify_a_photo_sized_jpeg(app, pen_digits):
    mark = app.mark()
    check(app, mark, call(app.url, "classify", [upload(app.url, big_jpeg_digit(pen_digits), "p.jpg"), "lenet5"]), "7")


@pytest.mark.parametrize("model,expected", [
    ("", "7"), ("lenet5 ", "7"), ("../../etc/passwd", "No checkpoint named '../../etc/passwd'"),
    ("LENET5", "No checkpoint named 'LENET5'"), ("x" * 1000, "No checkpoint named 'xxxx"),
    (123, "No checkpoint named '123'"), (["lenet5"], "No checkpoint named \"['lenet5']\""),
    ("<img src=x onerror=alert(1)>", "No checkpoint named '&lt;img src=x onerror=alert(1)&gt;'"),
])
def test_classify_model_names(app, model, expected):
    mark = app.mark()
    check(app, mark, call(app.url, "classify", [upload(app.url, png(digit())), model]), expected)


def test_classify_without_an_image(app):
    mark = app.mark()
    check(app, mark, call(app.url, "classify", [None, "lenet5"]), "No image: send an image file of one digit.")


K3 = [[1.0, 0, -1]] * 3
DEFAULTS = {"padding": "same", "stride": 1, "dilation": 1, "padding_mode": "zeros", "activation": "none",
            "slope": 0.01, "pooling": "none", "pool_kernel": 2, "pool_stride": 2}


def convolve(app, image, kernels, **kw):
    args = {**DEFAULTS, **kw}
    return call(app.url, "convolve", [image, kernels] + [args[k] for k in DEFAULTS])


@pytest.mark.parametrize("kernels,kw,expected", [
    ([[[float("nan")]]], {}, "Kernel 1 holds NaN or infinity"),
    ([[[float("inf"), 1]]], {}, "Kernel 1 holds NaN or infinity"),
    ([[["a", 1]]], {}, "Kernel 1 is not a rectangular grid of numbers"),
    ([], {}, "Give at least one kernel."),
    ("kernel", {}, "Give at least one kernel."),
    ([[[]]], {}, "Kernel 1 is not a rectangular grid of numbers"),
    ([[1, 2, 3]], {}, "Kernel 1 must be a 2-D grid (or 3-D: one grid per colour channel), got shape [3]"),
    ([[[1] * 12] * 12], {}, "Kernel 1 has shape [12, 12]; the largest allowed is 11×11"),
    ([[[1] * 3] * 20], {}, "Kernel 1 has shape [20, 3]; the largest allowed is 11×11"),
    ([[[1] * 3] * 100000], {}, "HTTP 413: {\"detail\": \"The request body is 1 MB; this route takes at most 256 KB.\"}"),
    ([K3] * 17, {}, "At most 16 kernels at once, not 17."),
    ([K3], {"stride": 0}, "Stride must be between 1 and 64, not 0."),
    ([K3], {"stride": -5}, "Stride must be between 1 and 64, not -5."),
    ([K3], {"stride": float("inf")}, "Stride must be a whole number"),
    ([K3], {"dilation": 100}, "Dilation must be between 1 and 16, not 100."),
    ([K3], {"padding": "../../etc"}, "Padding must be 'valid', 'same' or a whole number"),
    ([K3], {"padding": 10**9}, "Padding must be 'valid', 'same' or a whole number from 0 to 16"),
    ([K3], {"padding": 64}, "from 0 to 16, not '64'"),
    ([K3], {"padding_mode": "circular"}, "Padding mode must be one of zeros, reflect, replicate"),
    ([K3], {"activation": "sigmoid"}, "Activation must be one of none, relu, leaky_relu"),
    ([K3], {"pooling": "max", "pool_kernel": 0}, "Pool size must be between 1 and 32, not 0."),
    ([K3], {"slope": float("nan"), "activation": "leaky_relu"}, "The LeakyReLU slope must be between 0 and 1"),
    ([[[1e30] * 3] * 3], {}, "Kernel 1 holds values beyond ±1,000,000."),
    ([[[1, 2], [3]]], {}, "Kernel 1 is not a rectangular grid of numbers."),
    ([[[[[1]]]]], {}, "Kernel 1 is not a rectangular grid of numbers."),
    ([[[[1] * 3] * 3] * 5], {}, "Kernel 1 has shape [5, 3, 3]"),
])
def test_convolve_parameters(app, kernels, kw, expected):
    image = upload(app.url, png(digit()))
    mark = app.mark()
    check(app, mark, convolve(app, image, kernels, **kw), expected)


def test_convolve_output_is_bounded(app):
    """16 kernels over a 1024² photo: the image is read at 512 px, and 16×512×512 numbers are
    more than /convolve returns (it was 205 MB of JSON)."""
    photo = png(Image.effect_noise((1024, 1024), 60).convert("RGB"))
    mark = app.mark()
    check(app, mark, convolve(app, upload(app.url, photo), [[[1.0] * 11] * 11] * 16),
          "The output would be 16×512×512 = 4,194,304 numbers; /convolve returns at most 262,144")
    status, out = convolve(app, upload(app.url, photo), [[[1.0] * 11] * 11] * 4, stride=2)
    assert status == "ok" and out[0]["shape"] == [4, 256, 256]


def test_convolve_reads_only_uploaded_files(app):
    """Gradio refuses a path nobody uploaded before the app's function runs (and logs its own
    InvalidPathError, the one traceback allowed here): the refusal, not a crash of ours."""
    mark = app.mark()
    status, value = convolve(app, {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}, [K3])
    assert status == "error"
    assert "root:" not in json.dumps(value)
    logged = app.tracebacks(mark)
    assert logged.count("Traceback") == 1, logged[-3000:]
    assert "InvalidPathError: Cannot move /etc/passwd to the gradio cache dir because it was not uploaded" in logged


TRAIN = {"arch": "lenet5", "epochs": 1, "batch_size": 128, "optimizer": "adam", "lr": 0.003, "augment": False,
         "train_size": 256, "seed": 0, "name": ""}


@pytest.mark.parametrize("kw,expected", [
    ({"arch": "alexnet"}, "Unknown architecture 'alexnet'"),
    ({"arch": ["lenet5"]}, "The architecture must be given by name"),
    ({"name": "../../etc/passwd"}, "not a valid checkpoint name"),
    ({"name": "con\x00null"}, "not a valid checkpoint name"),
    ({"name": "a" * 500}, "not a valid checkpoint name"),
    ({"name": "lenet5"}, "already has a checkpoint named 'lenet5'"),
    ({"epochs": 0}, "Epochs must be between 1 and"),
    ({"epochs": float("inf")}, "Epochs must be a whole number"),
    ({"epochs": 200, "batch_size": 16, "train_size": 60000}, "Epochs must be between 1 and 50, not 200."),
    ({"epochs": 50, "batch_size": 16, "train_size": 60000}, "the app runs at most 20,000"),
    ({"batch_size": 1}, "Batch size must be between 16 and 1024, not 1."),
    ({"train_size": 10**9}, "Training images must be between 100 and 60,000"),
    ({"lr": float("nan")}, "The learning rate must be a finite number"),
    ({"lr": -1}, "Learning rate must be in (0, 10]"),
    ({"seed": -1}, "The seed must be between 0 and"),
    ({"augment": "yes"}, "Augment must be true or false"),
    ({"optimizer": "<b>lion</b>"}, "Unknown optimizer '&lt;b&gt;lion&lt;/b&gt;'"),
])
def test_train_refusals(app, kw, expected):
    args = {**TRAIN, **kw}
    mark = app.mark()
    check(app, mark, call(app.url, "train", [args[k] for k in TRAIN]), expected)


@pytest.mark.parametrize("job", ["../../etc/passwd", "", "0" * 17, 12, None])
def test_stop_training_needs_a_run_id(app, job):
    mark = app.mark()
    check(app, mark, call(app.url, "stop_training", [job]), "Give the id of a run")


def test_stop_training_of_an_unknown_run(app):
    mark = app.mark()
    status, out = call(app.url, "stop_training", ["0123456789abcdef"])
    assert not app.tracebacks(mark)
    assert status == "ok" and out[0] == {"message": "No run of yours is training or waiting."}


@pytest.mark.parametrize("repo,rev,sub,expected", [
    ("", "", "", "is not a Hub repo id"), ("../../etc/passwd", "", "", "is not a Hub repo id"),
    ("/abs", "", "", "is not a Hub repo id"), ("a/b/c", "", "", "is not a Hub repo id"),
    ("ünï/cødé", "", "", "is not a Hub repo id"), ("x" * 300, "", "", "is not a Hub repo id"),
    ("user/", "", "", "is not a Hub repo id"), ("user/repo?x=1", "", "", "is not a Hub repo id"),
    ("user/repo#frag", "", "", "is not a Hub repo id"), ("https://huggingface.co/user/repo", "", "", "is not a Hub repo id"),
    (["a/b"], "", "", "is not a Hub repo id"),
    ("user/repo", "<img src=x>", "", "'&lt;img src=x&gt;' is not a revision"),
    ("user/repo", "../../x", "", "is not a revision"), ("user/repo", 5, "", "The revision must be text"),
    ("user/repo", "", "../../etc", "is not a folder name inside the repo"),
    ("nobody/nothing", "", "", "The Hub cannot be reached (offline or no network) and nobody/nothing is not in the local cache."),
])
def test_load_from_hub_refusals(app, repo, rev, sub, expected):
    mark = app.mark()
    check(app, mark, call(app.url, "load_from_hub", [repo, rev, sub]), expected)


def test_the_app_still_serves(app):
    mark = app.mark()
    check(app, mark, call(app.url, "classify", [upload(app.url, png(digit())), "lenet5"]), "7")
