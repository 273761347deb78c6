"""A public link's bounds, tried as a hostile visitor would, against the real app in its own
process: what Gradio decodes before the app runs (the canvas's PNG, request bodies), the upload folder's disk, and the cost of a session. Each refusal is the app's own
sentence, and the server prints no traceback."""
import base64
import io
import json
import struct
import zlib

import httpx
import pytest
from PIL import Image

from server import AppServer, call, upload


@pytest.fixture(scope="module")
def app(tmp_path_factory, mnist_dir):
    server = AppServer(tmp_path_factory.mktemp("hostile"), {"CNN_DEMO_DATA": str(mnist_dir), "HF_HUB_OFFLINE": "1",
                                                           "CNN_DEMO_UPLOAD_BUDGET_MB": "3"})
    yield server
    server.close()


def header_only_png(w: int, h: int) -> bytes:
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def canvas_png(side=400, ink=False) -> bytes:
    img = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    if ink:  # a black bar, drawn as the canvas would on transparent paper
        img.paste((0, 0, 0, 255), (side // 2 - 12, side // 5, side // 2 + 12, side * 4 // 5))
    b = io.BytesIO()
    img.save(b, format="PNG")
    return b.getvalue()


def data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def draw(app, value):
    return call(app.url, "draw", [value, "lenet5"])


def test_the_canvas_refuses_what_it_could_not_have_sent(app):
    """The canvas sends one PNG as a data URL in the event's payload: a 100-byte PNG declaring
    13000×13000 pixels (Gradio's Sketchpad decoded such images, +2.9 GB, before any bound),
    a string longer than the largest PNG, broken base64, another format, a truncated PNG and
    a value that is not text each get the app's sentence, before anything is decoded."""
    mark = app.mark()
    assert draw(app, data_url(header_only_png(13000, 13000))) == (
        "error", "The canvas image is 13000×13000 pixels; the canvas sends at most 1024×1024.")
    side = io.BytesIO()
    Image.new("L", (1024, 1024), 255).save(side, format="PNG")
    assert draw(app, data_url(side.getvalue()))[0] == "ok"  # the side's bound itself is accepted
    assert draw(app, "data:image/png;base64," + "A" * 230_000) == (
        "error", "The canvas image is too large: the canvas sends at most 160 KB.")
    assert draw(app, "data:image/png;base64,@@@not base64@@@") == ("error", "The canvas image is not valid base64.")
    assert draw(app, "data:text/html;base64,PGI+") == (
        "error", "The canvas sends its drawing as a PNG data URL (data:image/png;base64,…); this is not one.")
    gif = io.BytesIO()
    Image.new("L", (40, 40), 255).save(gif, format="GIF")
    assert draw(app, data_url(gif.getvalue())) == ("error", "The canvas sends PNG images, not GIF.")
    status, msg = draw(app, data_url(canvas_png(ink=True)[:300]))
    assert status == "error" and msg.startswith(("The canvas image could not be read", "The canvas image is not an image"))
    assert draw(app, {"background": None, "layers": [], "composite": None}) == (
        "error", "The canvas sends its drawing as a PNG data URL (text); this is not text.")
    assert draw(app, data_url(b"not a png at all")) == (
        "error", "The canvas image is not an image the canvas could have sent (UnidentifiedImageError).")
    assert not app.tracebacks(mark)


def test_an_honest_canvas_is_read(app):
    """What the page sends: ink on transparent paper is read as ink on white; a blank canvas
    (null, or no ink) asks for a drawing."""
    mark = app.mark()
    status, out = draw(app, data_url(canvas_png(ink=True)))
    assert status == "ok" and out[0]["label"] == "1", out
    for blank in (None, data_url(canvas_png())):
        status, out = draw(app, blank)
        assert status == "ok" and not out[0] and out[2].startswith("✏️ Draw one digit")
    assert not app.tracebacks(mark)


def test_request_bodies_are_bounded_before_gradio_reads_them(app):
    """A 1500×1500 'kernel grid' (9 MB of JSON) took 4 s and 117 MB to parse before the
    11×11 check; bodies are bounded by their Content-Length first."""
    grid = json.dumps({"data": [[["1"] * 1500] * 1500], "fn_index": 0, "session_hash": "x"})
    r = httpx.post(f"{app.url}gradio_api/queue/join", content=grid, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["detail"] == "The request body is 11 MB; this route takes at most 256 KB."

    def chunks():
        yield b'{"data": []'
        yield b"}"
    r = httpx.post(f"{app.url}gradio_api/queue/join", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 411 and "Content-Length" in r.json()["detail"]
    assert call(app.url, "classify", [None, "lenet5"]) == ("error", "No image: send an image file of one digit.")


@pytest.fixture
def own_app(tmp_path, mnist_dir):
    """A server whose upload folder holds only what the test using it uploads (the module's
    `app` is shared: other tests' uploads would count toward the budget measured)."""
    server = AppServer(tmp_path / "uploads", {"CNN_DEMO_DATA": str(mnist_dir), "HF_HUB_OFFLINE": "1",
                                              "CNN_DEMO_UPLOAD_BUDGET_MB": "3"})
    yield server
    server.close()


def test_the_upload_folder_has_a_disk_budget(own_app):
    """Nothing cleaned Gradio's upload folder; it is kept within its budget (3 MB in this test),
    oldest files first, and an upload that cannot fit is refused."""
    app = own_app
    blob = bytes(900 * 2**10)
    for i in range(8):  # 7 MB in all: the oldest make room for the newest
        upload(app.url, blob, f"f{i}.bin")
    files = [p for p in app.upload_dir.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    assert size <= 3 * 2**20
    names = {p.name for p in files}
    assert "f7.bin" in names and "f0.bin" not in names and len(names) >= 2  # the newest kept, the oldest gone
    r = httpx.post(f"{app.url}gradio_api/upload", files={"files": ("big.bin", bytes(4 * 2**20))})
    assert r.status_code == 507 and r.json()["detail"] == "The server's upload space is full; try again in a few minutes."


def test_sessionless_calls_keep_working(app):
    """Every call without a session_hash makes a session; they are cheap now, and bounded."""
    digit = (pytest.importorskip("conftest").ROOT / "examples" / "digits" / "mnist-test-0000-label7.png").read_bytes()
    for _ in range(20):
        status, out = call(app.url, "classify", [upload(app.url, digit), "lenet5"])
        assert status == "ok" and max(out[0], key=out[0].get) == "7"


def test_the_plain_api_answers_in_one_request(app):
    """curl --data-binary @digit.png .../api/classify?model=lenet5: the same answer as /classify,
    one request, no Gradio session; refusals are sentences."""
    from conftest import ROOT
    digit = (ROOT / "examples" / "digits" / "mnist-test-0000-label7.png").read_bytes()
    mark = app.mark()
    r = httpx.post(f"{app.url}api/classify?model=lenet5", content=digit)
    assert r.status_code == 200 and max(r.json(), key=r.json().get) == "7" and len(r.json()) == 10
    assert call(app.url, "classify", [upload(app.url, digit), "lenet5"])[1][0] == pytest.approx(r.json())
    for body, query, status, sentence in [
        (b"", "", 400, "No image: send the image file as the request body."),
        (b"<svg>", "", 422, "That file is not an image this app can read"),
        (header_only_png(13000, 13000), "", 422, "13000×13000 pixels; the app reads images up to 4096 pixels a side"),
        (digit, "?model=../../etc", 404, "No checkpoint named '../../etc'"),
        (bytes(21 * 2**20), "", 413, None),
    ]:
        r = httpx.post(f"{app.url}api/classify{query}", content=body, timeout=60)
        assert r.status_code == status
        if sentence:
            assert sentence in r.json()["error"]
    assert r.json() == {"detail": "The request body is 21 MB; this route takes at most 20 MB."}
    assert not app.tracebacks(mark)
