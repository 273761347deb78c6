"""The Draw tab's own canvas, server side: what the page sends (a PNG data URL) read back as the
pixels drawn, transparency as white paper, and every bound tested at its edge and one past it."""
import base64
import io

import numpy as np
import pytest
from PIL import Image

from cnn_demo.limits import CANVAS_MAX_BYTES, CANVAS_MAX_SIDE
from cnn_demo.ui.pad import MAX_CHARS, PREFIX, check_canvas_image, decode, encode


def png(img: Image.Image) -> bytes:
    b = io.BytesIO()
    img.save(b, format="PNG")
    return b.getvalue()


def url(data: bytes) -> str:
    return PREFIX + base64.b64encode(data).decode()


def test_an_array_goes_to_the_page_and_back_unchanged():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (37, 53), dtype=np.uint8)
    assert encode(img).startswith(PREFIX)
    assert np.array_equal(decode(encode(img)), img)
    assert encode(None) is None and decode(None) is None and decode("") is None
    assert np.array_equal(decode(encode({"composite": img})), img)  # a Sketchpad-style dict: its composite


def test_ink_on_transparent_paper_is_read_on_white():
    """What a page sends with no paper drawn: alpha 0 reads as 255, half-covered black as the
    blend worked by hand (255 × (1 − a/255), rounded)."""
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[0, 0, 3] = 255  # opaque black
    rgba[1, 1, 3] = 128  # half-covered black
    rgba[2, 2] = (255, 255, 255, 255)  # opaque white
    grey = decode(url(png(Image.fromarray(rgba, "RGBA"))))
    assert grey[0, 0] == 0 and grey[2, 2] == 255 and grey[3, 3] == 255
    assert abs(int(grey[1, 1]) - round(255 * (1 - 128 / 255))) <= 1


def test_the_length_is_bounded_before_base64_is_read():
    at = PREFIX + "A" * (MAX_CHARS - len(PREFIX))  # at the bound: decoded (2 bytes over, no padding)
    with pytest.raises(ValueError, match=r"^The canvas image is 160 KB; the canvas sends at most 160 KB\.$"):
        decode(at)
    with pytest.raises(ValueError, match="too large: the canvas sends at most 160 KB"):
        decode(at + "A")
    assert MAX_CHARS - len(PREFIX) == 4 * -(-CANVAS_MAX_BYTES // 3)  # the base64 of the largest accepted PNG


def test_the_bytes_and_the_sides_are_bounded_before_decoding():
    ok = png(Image.new("L", (CANVAS_MAX_SIDE, 1), 255))
    check_canvas_image(ok)  # a long thin image at the bound
    for w, h in [(CANVAS_MAX_SIDE + 1, 1), (1, CANVAS_MAX_SIDE + 1)]:
        with pytest.raises(ValueError, match=f"is {w}×{h} pixels; the canvas sends at most 1024×1024"):
            check_canvas_image(png(Image.new("L", (w, h), 255)))
    padded = ok + b"\0" * (CANVAS_MAX_BYTES - len(ok))  # trailing bytes after IEND: PIL reads the header
    check_canvas_image(padded)
    with pytest.raises(ValueError, match="is 160 KB; the canvas sends at most 160 KB"):
        check_canvas_image(padded + b"\0")


@pytest.mark.parametrize("payload, sentence", [
    (123, "this is not text"),
    ({"composite": None}, "this is not text"),
    ("data:image/jpeg;base64,AAAA", "this is not one"),
    (PREFIX + "!!!!", "not valid base64"),
    (url(b"GIF89a" + b"\0" * 30), "not an image the canvas could have sent"),
])
def test_what_the_canvas_could_not_have_sent_gets_a_sentence(payload, sentence):
    with pytest.raises(ValueError, match=sentence):
        decode(payload)


def test_another_format_and_a_truncated_png_get_a_sentence():
    gif = io.BytesIO()
    Image.new("L", (8, 8), 255).save(gif, format="GIF")
    with pytest.raises(ValueError, match="^The canvas sends PNG images, not GIF.$"):
        decode(url(gif.getvalue()))
    noise = png(Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64), dtype=np.uint8)))
    with pytest.raises(ValueError, match=r"^The canvas image could not be read \("):
        decode(url(noise[:200]))
