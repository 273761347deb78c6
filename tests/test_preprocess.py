import io

import numpy as np
import pytest
from PIL import Image

from cnn_demo import strokes
from cnn_demo.preprocess import InputError, preprocess, read_image, to_ink


def digit_canvas(pen_digits, i=0, frac=0.6):
    return strokes.render(strokes.place(pen_digits[i]["strokes"], frac))


def test_mnist_style_centring(pen_digits):
    pre = preprocess(digit_canvas(pen_digits))
    img = pre.image
    assert img.shape == (28, 28) and img.dtype == np.float32 and 0 <= img.min() and img.max() <= 1
    ys, xs = np.nonzero(img > 0.05)
    assert max(ys.max() - ys.min(), xs.max() - xs.min()) + 1 <= 21  # fits the 20×20 box
    total = img.sum()
    cy, cx = (img.sum(1) @ np.arange(28)) / total, (img.sum(0) @ np.arange(28)) / total
    assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1
    assert list(pre.steps) == ["ink", "cropped", "stroke width", "fit 20×20", "centred (28×28)"]


def test_position_and_size_on_the_canvas_do_not_matter(pen_digits):
    st = pen_digits[5]["strokes"]
    a = preprocess(strokes.render(strokes.place(st, 0.5, 0.3, 0.3))).image
    b = preprocess(strokes.render(strokes.place(st, 0.8, 0.55, 0.5))).image
    assert np.abs(a - b).mean() < 0.05


def test_polarity_and_transparency_are_handled(pen_digits):
    canvas = digit_canvas(pen_digits)
    ref = preprocess(canvas).image
    assert np.allclose(preprocess(255 - canvas).image, ref, atol=1e-5)  # light ink on dark
    rgba = np.zeros(canvas.shape + (4,), np.uint8)
    rgba[..., 3] = 255 - canvas  # black ink on transparency
    assert np.allclose(preprocess(rgba).image, ref, atol=1e-5)
    rgb = np.repeat(canvas[..., None], 3, 2)
    assert np.allclose(preprocess(rgb).image, ref, atol=1e-5)


@pytest.mark.parametrize("mode", ["I;16", "P", "CMYK", "LA", "RGBA", "1", "F"])
def test_odd_image_modes(pen_digits, mode):
    canvas = Image.fromarray(digit_canvas(pen_digits))
    img = canvas.convert("F") if mode == "F" else canvas.convert(mode)
    if mode == "I;16":
        img = Image.fromarray(np.asarray(canvas).astype(np.uint16) * 257)
    buf = io.BytesIO()
    img.save(buf, format="TIFF" if mode in ("F", "CMYK", "I;16") else "PNG")
    pre = preprocess(read_image(buf.getvalue()))
    assert pre.image.max() > 0.5 and np.abs(pre.image - preprocess(canvas).image).mean() < 0.03


def test_empty_dot_and_full_canvas():
    blank = np.full((400, 400), 255, np.uint8)
    with pytest.raises(InputError, match="empty"):
        preprocess(blank)
    dot = blank.copy()
    dot[200:204, 200:204] = 0
    assert preprocess(dot).image.max() > 0  # a dot is a (strange) drawing, not a crash
    with pytest.raises(InputError, match="mostly ink"):
        preprocess(np.uint8(255) * (np.random.rand(400, 400) > 0.9).astype(np.uint8), paper="light")


def test_bad_files_get_clear_messages(tmp_path, pen_digits):
    with pytest.raises(InputError, match="not an image"):
        read_image(b"this is not an image at all")
    buf = io.BytesIO()
    Image.fromarray(digit_canvas(pen_digits)).save(buf, format="PNG")
    with pytest.raises(InputError, match="truncated or corrupt|not an image"):
        read_image(buf.getvalue()[: len(buf.getvalue()) // 2])
    buf = io.BytesIO()
    Image.fromarray(digit_canvas(pen_digits)).save(buf, format="JPEG")
    with pytest.raises(InputError):
        read_image(buf.getvalue()[:300])


def test_huge_and_tiny_images(pen_digits):
    big = Image.fromarray(digit_canvas(pen_digits)).resize((3400, 3400), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    big.save(buf, format="PNG", compress_level=1)
    img = read_image(buf.getvalue())
    assert max(img.size) <= 1024
    assert preprocess(img).image.max() > 0.5
    huge = io.BytesIO()
    Image.new("L", (10000, 10000), 255).save(huge, format="PNG")
    with pytest.raises(InputError, match="10000×10000 pixels; the app reads images up to 4096 pixels a side"):
        read_image(huge.getvalue())
    one = Image.new("L", (1, 1), 0)
    b1 = io.BytesIO()
    one.save(b1, format="PNG")
    with pytest.raises(InputError):
        preprocess(read_image(b1.getvalue()))  # a single pixel has no ink against its (own) paper


def test_a_float_tiff_in_0_1_reads_as_its_digit(pen_digits):
    """32-bit float images with values in [0, 1] (scientific software writes them) were divided
    by 255 and read as an empty canvas."""
    a = 1 - digit_canvas(pen_digits).astype(np.float32) / 255  # ink = 1
    buf = io.BytesIO()
    Image.fromarray(a, mode="F").save(buf, format="TIFF")
    img = read_image(buf.getvalue())
    assert img.mode == "F"
    pre = preprocess(img)
    assert pre.image.max() > 0.9
    ref = preprocess(Image.fromarray((a * 255).round().astype(np.uint8)))
    assert np.abs(pre.image - ref.image).max() < 0.02


def test_large_decodes_take_turns():
    """At most DECODE_SLOTS large images are decoded at once, whatever number arrive together
    (4 in parallel held 1.2 GB before); small ones never wait."""
    import threading
    import time
    from cnn_demo import limits
    inside, peak, lock = [0], [0], threading.Lock()

    def decode(pixels):
        with limits.decode_slot(pixels):
            with lock:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            time.sleep(0.1)
            with lock:
                inside[0] -= 1
    threads = [threading.Thread(target=decode, args=(16_000_000,)) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.02)
    t0 = time.perf_counter()
    with limits.decode_slot(400 * 400):  # a canvas-sized image goes straight through
        assert time.perf_counter() - t0 < 0.05
    for t in threads:
        t.join()
    assert peak[0] == limits.DECODE_SLOTS


def test_nan_and_wrong_shapes():
    with pytest.raises(InputError):
        preprocess(np.zeros((4, 4, 7), np.uint8))
    a = np.full((50, 50), np.nan, np.float32)
    with pytest.raises(InputError):
        preprocess(a)
    assert to_ink(np.full((5, 5), 300.0)).max() <= 1


def test_the_input_maps_back_onto_the_drawn_ink(pen_digits):
    for i in (0, 7, 33):
        pre = preprocess(digit_canvas(pen_digits, i, frac=0.5 + 0.1 * (i % 3)))
        back = pre.to_ink_coords(pre.image)
        ink = pre.steps["ink"] > 0.5
        assert back.shape == ink.shape
        assert (back[ink] > 0.2).mean() > 0.8  # where the user drew, the network's input has ink
        assert (back[~ink] > 0.2).mean() < 0.1


@pytest.mark.parametrize("radius", [1, 2, 3, 5, 8, 12])
@pytest.mark.parametrize("shape", [(160, 124), (30, 7), (1, 40), (1, 1)])
def test_stroke_morphology_equals_a_square_max_pool(radius, shape):
    """The separable doubling max is the square max-pool it replaced, exactly, both ways."""
    import torch
    import torch.nn.functional as F
    from cnn_demo.preprocess import _morph
    x = np.random.default_rng(radius).random(shape, dtype=np.float32)
    t = torch.from_numpy(x)[None, None]
    grow = F.max_pool2d(t, 2 * radius + 1, stride=1, padding=radius)[0, 0].numpy()
    shrink = -F.max_pool2d(-t, 2 * radius + 1, stride=1, padding=radius)[0, 0].numpy()
    assert np.array_equal(_morph(x, radius, True), grow)
    assert np.array_equal(_morph(x, radius, False), shrink)


def test_a_photo_on_grey_paper_reads_like_a_scan(pen_digits):
    """A phone photo of a digit: grey paper (~0.8) and grey-black ink under room light. Measured
    from white, the paper itself was 20 % ink and the picture read as 'mostly ink'."""
    canvas = digit_canvas(pen_digits).astype(np.float32) / 255  # white paper, black ink
    rng = np.random.default_rng(0)
    photo = 0.78 - 0.55 * (1 - canvas) + rng.normal(0, 0.02, canvas.shape)
    buf = io.BytesIO()
    Image.fromarray((np.clip(photo, 0, 1) * 255).astype(np.uint8)).save(buf, format="JPEG", quality=85)
    pre = preprocess(read_image(buf.getvalue()))
    ref = preprocess(Image.fromarray((canvas * 255).astype(np.uint8)))
    assert np.abs(pre.image - ref.image).mean() < 0.03
