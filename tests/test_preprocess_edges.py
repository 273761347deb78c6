"""preprocess.py against references worked out by hand or in numpy (never preprocessing itself):
ink from every kind of pixel, the grid map that carries the network's input back onto the
drawing (to a third of a cell: the padding of the stroke-width step moves it by half a cell or
more), each bound at its edge, and every refusal's sentence."""
import io

import numpy as np
import pytest
from PIL import Image

from cnn_demo import preprocess as pp
from cnn_demo.preprocess import InputError, preprocess, read_image, to_canvas, to_ink


# ---- ink, by hand ---------------------------------------------------------------------
def test_gray_pixels_of_every_dtype_on_known_paper():
    u8 = np.array([[0, 51, 255]], np.uint8)
    assert np.allclose(to_ink(u8, "light"), [[1.0, 0.8, 0.0]]) and np.allclose(to_ink(u8, "dark"), [[0.0, 0.2, 1.0]])
    u16 = np.array([[0, 13107, 65535]], np.uint16)
    assert np.allclose(to_ink(u16, "dark"), [[0.0, 0.2, 1.0]])
    b = np.array([[True, False]])
    assert to_ink(b, "dark").tolist() == [[1.0, 0.0]] and to_ink(b, "light").tolist() == [[0.0, 1.0]]
    f = np.array([[0.25, 0.5, 2.0, -1.0, np.nan, np.inf]], np.float64)  # 0–1 kept; past 1 read as 0–255
    assert np.allclose(to_ink(f, "dark"), np.clip(np.nan_to_num(f, nan=0, posinf=1, neginf=0) / 255, 0, 1))
    f1 = np.array([[0.25, 1.0]], np.float32)
    assert np.allclose(to_ink(f1, "dark"), [[0.25, 1.0]])
    assert to_ink(u8, "light").dtype == np.float32 and to_ink(f, "dark").dtype == np.float32


def test_colour_is_read_by_its_luma():
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]]], np.uint8)
    assert np.allclose(to_ink(rgb, "dark"), [[0.299, 0.587, 0.114, 1.0]], atol=1e-6)
    assert np.allclose(to_ink(rgb, "light"), [[0.701, 0.413, 0.886, 0.0]], atol=1e-6)
    one = np.array([[[51], [255]]], np.uint8)  # a single channel is plain gray
    assert np.allclose(to_ink(one, "dark"), [[0.2, 1.0]])


def test_ink_on_transparency_is_composited_onto_white():
    la = np.array([[[0, 255], [0, 0], [0, 128], [200, 255]]], np.uint8)  # gray, alpha
    a = la[..., 1] / 255
    want = 1 - (la[..., 0] / 255 * a + (1 - a))
    assert np.allclose(to_ink(la, "light"), want, atol=1e-6)
    rgba = np.zeros((1, 3, 4), np.uint8)
    rgba[..., 3] = [255, 0, 51]  # black ink, opaque / clear / a fifth
    assert np.allclose(to_ink(rgba, "light"), [[1.0, 0.0, 0.2]], atol=1e-6)
    opaque = np.dstack([np.full((1, 2, 3), 51, np.uint8), np.full((1, 2), 253, np.uint8)])
    assert np.allclose(to_ink(opaque, "light"), [[0.8, 0.8]], atol=1e-6)  # alpha ≥ 0.99: not composited


def test_auto_paper_is_the_borders_median_and_the_range_is_stretched():
    light = np.full((5, 5), 0.8, np.float32)
    light[2, 2], light[1, 2] = 0.2, 0.5
    got = to_ink(light)
    assert got[0, 0] == 0 and got[2, 2] == pytest.approx(1.0) and got[1, 2] == pytest.approx(0.5)
    dark = 1 - light  # light ink on dark paper: the same ink
    assert np.allclose(to_ink(dark), got, atol=1e-6)
    faint = np.full((5, 5), 0.8, np.float32)
    faint[2, 2] = 0.7  # a span under 0.25 is stretched as if it were 0.25: faint stays faint
    assert to_ink(faint)[2, 2] == pytest.approx(0.4)


def test_pil_images_of_wide_modes_are_scaled_by_their_range():
    i16 = Image.fromarray(np.array([[0, 13107, 65535]], np.uint16))
    assert np.allclose(to_ink(i16, "dark"), [[0, 0.2, 1]])
    i32_small = Image.fromarray(np.array([[0, 51, 255]], np.int32), mode="I")  # 8-bit values in a 32-bit image
    assert np.allclose(to_ink(i32_small, "dark"), [[0, 0.2, 1]])
    i32_big = Image.fromarray(np.array([[0, 13107, 65535]], np.int32), mode="I")
    assert np.allclose(to_ink(i32_big, "dark"), [[0, 0.2, 1]])
    f_unit = Image.fromarray(np.array([[0, 0.2, 1]], np.float32), mode="F")
    assert np.allclose(to_ink(f_unit, "dark"), [[0, 0.2, 1]])
    f_bytes = Image.fromarray(np.array([[0, 51, 255]], np.float32), mode="F")
    assert np.allclose(to_ink(f_bytes, "dark"), [[0, 0.2, 1]])
    p = Image.fromarray(np.array([[0, 255]], np.uint8)).convert("P")
    p.info["transparency"] = 0  # palette index 0 transparent: composited onto white paper
    assert np.allclose(to_ink(p, "light"), [[0, 0]], atol=1e-6)


# ---- the grid map, by geometry ---------------------------------------------------------
def t_shape(bar_row: int, stem_col: int, t: int) -> np.ndarray:
    img = np.full((400, 300), 255, np.uint8)
    img[bar_row:bar_row + t, 60:260] = 0
    img[bar_row:bar_row + 220, stem_col:stem_col + t] = 0
    return img


def _peak(sums: np.ndarray, i: int) -> float:
    """The weighted centre of the three cells around i, in continuous cell coordinates."""
    w = sums[i - 1:i + 2]
    return float(w @ np.arange(i - 1, i + 2) / w.sum()) + 0.5


@pytest.mark.parametrize("bar,stem,t", [(50, 100, 3), (80, 200, 6), (30, 150, 12), (60, 120, 2)])
def test_the_grid_map_puts_the_drawn_bars_where_the_input_has_them(bar, stem, t):
    """A T drawn at a known place: its bar's and stem's centre lines carried through grid_map land
    within a third of a cell of where the 28×28 input has them (the stroke-width step pads the
    work image by up to 12 px: leaving that out shifts them by half a cell or more)."""
    pre = preprocess(t_shape(bar, stem, t), paper="light")
    s, oy, ox = pre.grid_map
    top, left = pre.bbox[:2]
    assert (top, left) == (bar, 60)
    rows, cols = pre.image.sum(1), pre.image.sum(0)
    first = int(np.flatnonzero(rows > 0.5 * rows.max())[0])
    assert abs(s * (bar + t / 2 - top) + oy - _peak(rows, first)) < 0.33
    assert abs(s * (stem + t / 2 - left) + ox - _peak(cols, int(np.argmax(cols)))) < 0.33
    assert pre.steps["stroke width"].shape[0] > 160  # padded: there was padding to account for


def test_to_ink_coords_follows_the_grid_map_cell_by_cell():
    pre = preprocess(t_shape(50, 100, 3), paper="light")
    s, oy, ox = pre.grid_map
    top, left = pre.bbox[:2]
    heat = np.arange(28 * 28, dtype=np.float32).reshape(28, 28) + 1
    back = pre.to_ink_coords(heat)
    h, w = pre.steps["ink"].shape
    assert back.shape == (h, w) and back.dtype == np.float32
    for y in range(0, h, 7):
        for x in range(0, w, 5):
            gy, gx = int(np.floor(s * (y - top) + oy)), int(np.floor(s * (x - left) + ox))
            want = heat[gy, gx] if 0 <= gy < 28 and 0 <= gx < 28 else 0
            assert back[y, x] == want, (y, x)


# ---- bounds at their edges -------------------------------------------------------------
def test_an_image_of_exactly_the_working_side_is_not_reduced_and_one_pixel_more_is():
    for side, kept in ((1024, 1024), (1025, 1024), (2050, 1024)):
        img = np.full((side, 60), 255, np.uint8)
        img[100:side - 100, 20:40] = 0
        pre = preprocess(img, paper="light")
        assert pre.steps["ink"].shape[0] == kept
    thin = np.full((2048, 100), 255, np.uint8)
    thin[200:1800, 40:60] = 0
    assert preprocess(thin, paper="light").steps["ink"].shape == (1024, 50)


def test_sixty_percent_ink_is_a_drawing_and_one_pixel_more_is_mostly_ink():
    img = np.full((10, 10), 255, np.uint8)
    img.flat[:60] = 0
    preprocess(img, paper="light")  # 60 % exactly
    img.flat[60] = 0
    with pytest.raises(InputError) as e:
        preprocess(img, paper="light")
    assert str(e.value) == "The canvas is mostly ink: clear it and draw one digit, dark on light."
    with pytest.raises(InputError) as e:
        preprocess(np.pad(np.zeros((10, 10), np.uint8), 1, constant_values=255))  # a picture, by its border
    assert str(e.value) == ("The image is mostly ink: send a picture of one digit, dark on light or light on "
                            "dark.")


def test_the_stroke_width_step_pads_by_its_change_and_never_thins_by_more_than_4():
    ring = np.full((400, 400), 255, np.uint8)
    yy, xx = np.mgrid[:400, :400]
    r = np.hypot(yy - 200, xx - 200)
    ring[(r > 100) & (r < 102)] = 0  # a hairline: thickened, padded by the growth
    pre = preprocess(ring, paper="light")
    grown = pre.steps["stroke width"].shape[0] - 160
    assert grown % 2 == 0 and 2 <= grown // 2 <= 8
    disk = np.full((400, 400), 255, np.uint8)
    disk[r < 100] = 0  # a filled blob: thinned by 4 at most
    pre = preprocess(disk, paper="light")
    assert pre.steps["stroke width"].shape == (168, 168)
    assert preprocess(disk, normalize_width=False, paper="light").steps["stroke width"].shape == (160, 160)


def test_the_steps_and_centre_of_mass_of_a_centred_square():
    img = np.full((100, 100), 255, np.uint8)
    img[30:70, 30:70] = 0  # a square: no stroke to speak of, centred by symmetry
    pre = preprocess(img, normalize_width=False, paper="light")
    assert pre.bbox == (30, 30, 70, 70)
    assert pre.center_of_mass == pytest.approx((13.5, 13.5), abs=0.5 + 1e-6)
    ys, xs = np.nonzero(pre.image > 0.5)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (4, 23, 4, 23)  # 20×20, centred in 28×28
    assert pre.steps["fit 20×20"].sum() == pytest.approx(pre.image.sum(), rel=1e-5)


# ---- sentences -------------------------------------------------------------------------
@pytest.mark.parametrize("paper,said", [("light", "The canvas is empty: draw a digit."),
                                        ("auto", "The image is empty: no ink on it (send a picture of one digit)."),
                                        ("dark", "The image is empty: no ink on it (send a picture of one digit).")])
def test_an_empty_picture_gets_the_sentence_of_where_it_came_from(paper, said):
    blank = np.full((50, 50), 255 if paper != "dark" else 0, np.uint8)
    with pytest.raises(InputError) as e:
        preprocess(blank, paper=paper)
    assert str(e.value) == said


@pytest.mark.parametrize("shape", [(4, 4, 5), (2, 2, 2, 2), (3,)])
def test_arrays_that_are_not_images_get_a_sentence(shape):
    with pytest.raises(InputError) as e:
        to_ink(np.zeros(shape, np.uint8))
    assert str(e.value) == f"Expected a 2-D image or an image with 1–4 channels, got shape {shape}."


@pytest.mark.parametrize("img", [np.zeros((0, 5), np.uint8), np.zeros((5, 0), np.uint8)])
def test_an_image_of_no_pixels_is_empty(img):
    with pytest.raises(InputError, match="^The image is empty.$"):
        preprocess(img)
    with pytest.raises(InputError, match="^The image is empty.$"):
        to_canvas(img)


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("size", [(4097, 1), (1, 4097)])
def test_a_long_thin_upload_one_pixel_over_the_side_is_refused_before_decoding(size):
    with pytest.raises(InputError) as e:
        read_image(_png(Image.new("L", size, 255)))
    assert str(e.value).startswith(f"The image is {size[0]}×{size[1]} pixels; the app reads images up to 4096")
    ok = read_image(_png(Image.new("L", (size[0] - 1, size[1]) if size[0] > 1 else (1, 4096), 255)))
    assert max(ok.size) == pp.MAX_SIDE


def test_read_image_reduces_to_the_working_side_keeping_the_aspect():
    for w, want in ((2048, (1024, 512)), (2047, (1024, 512)), (1024, (1024, 1024)), (1000, (1000, 1000))):
        img = read_image(_png(Image.new("L", (w, w if w <= 1024 else w // 2), 255)))
        assert img.size == want, w


def test_to_canvas_fits_the_ink_within_its_margin():
    img = np.full((300, 100), 255, np.uint8)
    img[50:250, 40:60] = 0  # 200 × 20 of ink
    out = to_canvas(img)
    assert out.shape == (400, 400) and out.dtype == np.uint8
    ys, xs = np.nonzero(out < 128)
    assert (ys.min(), ys.max() + 1) == (40, 360)  # 320 px: the longer side within 10 % margins
    assert (xs.min(), xs.max() + 1) == (184, 216)  # 20 × 1.6 = 32 px, centred
    with pytest.raises(InputError, match=r"^The image is empty: no ink on it \(send a picture of one digit\)\.$"):
        to_canvas(np.full((20, 20), 255, np.uint8))
