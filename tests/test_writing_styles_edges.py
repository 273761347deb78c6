"""writing_styles on digits drawn by hand in numpy, whose strokes are known: the pen is as wide
as the digit's own stroke, each guard returns None exactly where its shape gives no place for a
stroke, and a styled digit comes out as the Draw tab's preprocessing makes it."""
import numpy as np
import pytest
from PIL import Image

from cnn_demo import writing_styles as ws
from cnn_demo.preprocess import preprocess, stroke_width


def seven(w: int) -> np.ndarray:
    """A 7 of stroke w px at 28×28 (light on black): a top bar and a straight stem."""
    a = np.zeros((28, 28), np.uint8)
    a[5:5 + w, 6:22] = 255
    a[5:24, 14:14 + w] = 255
    return a


def up(img):
    return np.asarray(Image.fromarray(img).resize((112, 112), Image.Resampling.BILINEAR), np.float32) / 255


def bar_thickness(w: int, seed: int = 0) -> tuple[int, float]:
    """(rows of the added bar, at a column left of the stem; the 7's own stroke width at 112 px)."""
    img = seven(w)
    before = up(img)
    added = np.clip(ws.add_style(img, 7, np.random.default_rng(seed)) - before, 0, 1) > 0.5
    cols = np.flatnonzero(added.any(0))
    assert cols[0] + 3 < 14 * 4  # the bar reaches left of the stem
    return int(added[:, cols[0] + 3].sum()), stroke_width(before)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_pen_is_as_wide_as_the_digits_own_stroke(seed):
    thin, thin_stroke = bar_thickness(1, seed)
    bold, bold_stroke = bar_thickness(3, seed)
    assert thin_stroke < 4.8 and 4 <= thin <= 6  # a hairline digit gets the pen's least width, 2 × 2.4 px
    assert abs(bold - bold_stroke) <= 2  # a bolder one gets its own: 2r = its stroke width
    assert bold >= 1.8 * thin


def test_a_digit_with_fewer_than_8_rows_of_ink_gets_no_stroke():
    line = np.zeros((28, 28), np.uint8)
    line[10, 4:24] = 255  # one pixel high: 4 rows at 112 px
    assert ws.add_style(line, 7, np.random.default_rng(0)) is None
    line[11, 4:24] = 255  # two: 8 rows, just enough
    assert ws.add_style(line, 7, np.random.default_rng(0)) is not None


def test_a_seven_with_no_ink_where_the_bar_goes_gets_none():
    a = np.zeros((28, 28), np.uint8)
    a[2:8, 6:22] = 255  # a top bar ...
    a[24:26, 6:10] = 255  # ... and a foot, nothing in between where the bar would cross the stem
    for seed in range(5):
        assert ws.add_style(a, 7, np.random.default_rng(seed)) is None


def test_a_one_leaning_so_far_that_a_flag_would_make_it_a_seven_gets_none():
    a = np.zeros((28, 28), np.uint8)
    for i in range(20):  # from the top right to the bottom left: 45° past upright
        a[4 + i, 23 - i:25 - i] = 255
    for seed in range(5):
        assert ws.add_style(a, 1, np.random.default_rng(seed)) is None
    upright = np.zeros((28, 28), np.uint8)
    upright[4:24, 13:15] = 255
    flagged = ws.add_style(upright, 1, np.random.default_rng(0))
    assert flagged is not None
    new = np.clip(flagged - up(upright), 0, 1) > 0.5
    ys, xs = np.nonzero(new)
    assert xs.min() < 13 * 4 and ys.min() < 4 * 4 + 10  # the flag goes left from the top


@pytest.mark.parametrize("label", [0, 2, 3, 4, 5, 6, 8])
def test_only_ones_sevens_and_nines_are_styled(label):
    assert ws.add_style(seven(2), label, np.random.default_rng(0)) is None


def test_styled_digits_are_the_stroked_digits_as_the_draw_tab_preprocesses_them(mnist):
    """Worked again step by step: the same draws of the generator, then the Draw tab's
    preprocessing (paper="dark", MNIST's light ink on black), rounded to uint8."""
    x, y = mnist.train_x[:300].numpy(), mnist.train_y[:300].numpy()
    got = ws.styled(x, y, 0.6, seed=5)
    rng = np.random.default_rng(5)
    chosen = np.flatnonzero(np.isin(y, (1, 7, 9)) & (rng.random(300) < 0.6))
    want = {}
    for i in chosen:
        stroked = ws.add_style(x[i], int(y[i]), rng)
        if stroked is not None:
            want[int(i)] = np.round(preprocess(stroked, paper="dark").image * 255).astype(np.uint8)
    assert sorted(got) == sorted(want) and len(want) >= 10
    for i in want:
        assert got[i].dtype == np.uint8 and np.array_equal(got[i], want[i])
        ys, xs = np.nonzero(got[i] > 0)
        assert max(ys.max() - ys.min(), xs.max() - xs.min()) + 1 <= 20  # refitted into 20×20
        assert not np.array_equal(got[i], x[i])


def _ink_along(shape, points, r):
    """A round pen of radius r along a polyline, worked out pixel by pixel: ink = clip(r + ½ − the
    distance to the nearest segment, 0, 1)."""
    yy, xx = np.indices(shape, dtype=np.float64)
    best = np.full(shape, np.inf)
    for (ax, ay), (bx, by) in zip(points[:-1], points[1:]):
        dx, dy = bx - ax, by - ay
        L2 = dx * dx + dy * dy
        t = np.zeros(shape) if L2 == 0 else np.clip(((xx - ax) * dx + (yy - ay) * dy) / L2, 0, 1)
        best = np.minimum(best, np.sqrt((xx - ax - t * dx) ** 2 + (yy - ay - t * dy) ** 2))
    return np.clip(r + 0.5 - best, 0, 1)


def _digit_box(img):
    before = up(img)
    m = before > 0.5
    rows, cols = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))
    top, bottom, left, right = rows[0], rows[-1], cols[0], cols[-1]
    return before, m, top, bottom, bottom - top + 1, right - left + 1, max(stroke_width(before) / 2, 2.4)


@pytest.mark.parametrize("seed", [0, 3, 11])
@pytest.mark.parametrize("w", [1, 3])
def test_a_sevens_bar_is_where_its_draws_put_it_pixel_for_pixel(seed, w):
    img = seven(w)
    before, m, top, bottom, h, wd, r = _digit_box(img)
    rng = np.random.default_rng(seed)
    y = int(top + h * rng.uniform(0.45, 0.62))
    sx = float(np.median(np.flatnonzero(m[y])))
    length = max(wd, 0.5 * h) * rng.uniform(0.35, 0.6)
    tilt = np.tan(np.radians(rng.uniform(-8, 8))) * length
    a = rng.uniform(0.4, 0.65)
    bar = [(sx - a * length, y + a * tilt), (sx + (1 - a) * length, y - (1 - a) * tilt)]
    want = np.maximum(before, _ink_along(before.shape, bar, r))
    got = ws.add_style(img, 7, np.random.default_rng(seed))
    assert np.abs(got - want).max() < 1e-4


@pytest.mark.parametrize("seed", [0, 5])
def test_a_nines_tail_curls_along_its_bezier_pixel_for_pixel(seed):
    img = np.zeros((28, 28), np.uint8)
    img[4:6, 9:19] = img[12:14, 9:19] = 255  # a loop's top and bottom ...
    img[4:14, 9:11] = img[4:24, 17:19] = 255  # ... its left side, and a stem down the right
    before, m, top, bottom, h, wd, r = _digit_box(img)
    rng = np.random.default_rng(seed)
    bx = float(np.flatnonzero(m[bottom - int(2 * r):bottom + 1].any(0)).mean())
    reach = h * rng.uniform(0.25, 0.45)
    p0 = np.array([bx, bottom - r])
    p1 = np.array([bx - 0.1 * reach, bottom - r + 0.45 * reach])
    p2 = np.array([bx - reach, bottom - r + rng.uniform(-0.3, 0.15) * reach])
    curve = [(1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t ** 2 * p2 for t in np.linspace(0, 1, 12)]
    want = np.maximum(before, _ink_along(before.shape, curve, r))
    got = ws.add_style(img, 9, np.random.default_rng(seed))
    assert np.abs(got - want).max() < 1e-4


@pytest.mark.parametrize("seed", [0, 1, 2, 4, 7, 9])
def test_a_ones_flag_and_foot_are_where_its_draws_put_them_pixel_for_pixel(seed):
    import math
    img = np.zeros((28, 28), np.uint8)
    img[4:24, 13:15] = 255
    img[4:6, 11:13] = 255  # a hint of a nib at the top left, so the top and bottom differ
    before, m, top, bottom, h, wd, r = _digit_box(img)
    rng = np.random.default_rng(seed)
    band = int(2 * r) + 1
    tx = float(np.flatnonzero(m[top:top + band].any(0)).mean())
    bx = float(np.flatnonzero(m[bottom - band + 1:bottom + 1].any(0)).mean())
    stem = math.atan2(h, bx - tx)
    theta = min(stem + math.radians(rng.uniform(25, 55)), math.radians(150))
    length = h * rng.uniform(0.2, 0.4)
    want = np.maximum(before, _ink_along(before.shape, [(tx, top + r), (tx + length * math.cos(theta),
                                                                         top + r + length * math.sin(theta))], r))
    if rng.random() < 0.3:
        half = h * rng.uniform(0.12, 0.22)
        want = np.maximum(want, _ink_along(before.shape, [(bx - half, bottom - r), (bx + half, bottom - r)], r))
    got = ws.add_style(img, 1, np.random.default_rng(seed))
    assert np.abs(got - want).max() < 1e-4


def test_a_digit_that_gets_no_stroke_or_cannot_be_read_is_skipped_and_the_rest_still_styled():
    tiny = np.zeros((28, 28), np.uint8)
    tiny[10, 4:24] = 255  # too few rows: no stroke
    full = np.full((28, 28), 255, np.uint8)  # a stroke, then "mostly ink": not a digit preprocessing reads
    x = np.stack([tiny, full, seven(2)])
    got = ws.styled(x, np.array([7, 7, 7]), 1.0)
    assert list(got) == [2]
    assert ws.styled(x, np.array([7, 7, 7]), 1.0).keys() == ws.styled(x, np.array([7, 7, 7]), 1.0, seed=0).keys()


def test_the_default_seed_is_0():
    x = np.stack([seven(2), seven(3), seven(1)])
    y = np.array([7, 7, 7])
    a, b, c = ws.styled(x, y, 0.5), ws.styled(x, y, 0.5, seed=0), ws.styled(x, y, 1.0, seed=0)
    assert a.keys() == b.keys() and all(np.array_equal(a[i], b[i]) for i in a)
    rng = np.random.default_rng(0)
    assert sorted(a) == [int(i) for i in np.flatnonzero(rng.random(3) < 0.5)] and len(c) == 3
