"""End to end through a real Gradio server and gradio_client."""
import io

import pytest
from gradio_client import Client, handle_file
from PIL import Image

from cnn_demo import strokes


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def drawn_png(tmp_path, pen_digits, label, name="digit.png"):
    d = next(d for d in pen_digits if d["label"] == label)
    path = tmp_path / name
    Image.fromarray(strokes.render(strokes.place(d["strokes"], 0.6, 0.45, 0.55))).save(path)
    return path


@pytest.mark.parametrize("label", [0, 3, 7])
@pytest.mark.parametrize("model", ["lenet5", "tinycnn"])
def test_classify_a_drawn_digit(client, tmp_path, pen_digits, label, model):
    probs = client.predict(handle_file(str(drawn_png(tmp_path, pen_digits, label))), model, api_name="/classify")
    assert sorted(probs) == [str(d) for d in range(10)]
    assert abs(sum(probs.values()) - 1) < 1e-4
    assert max(probs, key=probs.get) == str(label)


def test_classify_is_listed_on_the_api_page(client):
    info = client.view_api(print_info=False, return_format="dict")
    params = [p["parameter_name"] for p in info["named_endpoints"]["/classify"]["parameters"]]
    assert params == ["image", "model"]


def test_rgba_ink_on_transparency(client, tmp_path, pen_digits):
    d = next(d for d in pen_digits if d["label"] == 4)
    canvas = strokes.render(strokes.place(d["strokes"], 0.6))
    rgba = Image.new("RGBA", canvas.shape[::-1], (0, 0, 0, 0))
    rgba.putalpha(Image.fromarray(255 - canvas))
    path = tmp_path / "rgba.png"
    rgba.save(path)
    probs = client.predict(handle_file(str(path)), "lenet5", api_name="/classify")
    assert max(probs, key=probs.get) == "4"


@pytest.mark.parametrize("make,msg", [
    (lambda: b"definitely not an image", "not an image"),
    (lambda: _png(Image.new("L", (300, 300), 255)), "empty"),
])
def test_bad_images_get_clear_errors(client, tmp_path, make, msg):
    path = tmp_path / "bad.png"
    path.write_bytes(make())
    with pytest.raises(Exception, match=msg) as e:
        client.predict(handle_file(str(path)), "lenet5", api_name="/classify")
    assert "Traceback" not in str(e.value)


def test_unknown_model_is_named(client, tmp_path, pen_digits):
    with pytest.raises(Exception, match="No checkpoint named 'resnet'; the app knows: lenet5, tinycnn"):
        client.predict(handle_file(str(drawn_png(tmp_path, pen_digits, 1))), "resnet", api_name="/classify")


def test_app_keeps_serving_after_errors(client, tmp_path, pen_digits):
    probs = client.predict(handle_file(str(drawn_png(tmp_path, pen_digits, 2))), "lenet5", api_name="/classify")
    assert max(probs, key=probs.get) == "2"


def _png(img):
    b = io.BytesIO()
    img.save(b, format="PNG")
    return b.getvalue()
