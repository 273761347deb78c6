"""Every playground output against an independent reference: plain numpy loops and scipy."""
import numpy as np
import pytest
from scipy import ndimage, signal

from cnn_demo import playground as pg
from cnn_demo.playground import PlaygroundError


def ref_correlate(img2d, k, pad, stride, dil, mode):
    """The textbook sliding window, written independently of the code under test."""
    t, b, l, r = pad
    np_mode = {"zeros": "constant", "reflect": "reflect", "replicate": "edge"}[mode]
    p = np.pad(img2d.astype(np.float64), ((t, b), (l, r)), mode=np_mode)
    kh, kw = k.shape
    eh, ew = dil * (kh - 1) + 1, dil * (kw - 1) + 1
    rows = range(0, p.shape[0] - eh + 1, stride)
    cols = range(0, p.shape[1] - ew + 1, stride)
    out = np.zeros((len(rows), len(cols)))
    for i, y in enumerate(rows):
        for j, x in enumerate(cols):
            s = 0.0
            for u in range(kh):
                for v in range(kw):
                    s += p[y + u * dil, x + v * dil] * k[u, v]
            out[i, j] = s
    return out


@pytest.mark.parametrize("seed", range(40))
def test_random_cases_match_the_reference(seed):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(3, 20, 2)
    kh, kw = rng.integers(1, 6, 2)
    stride, dil = int(rng.integers(1, 4)), int(rng.integers(1, 3))
    padding = [("valid"), ("same"), int(rng.integers(0, 4))][seed % 3]
    mode = pg.PADDING_MODES[seed % 3] if padding != "valid" else "zeros"
    img = rng.random((h, w)).astype(np.float32)
    ks = [rng.normal(size=(kh, kw)).astype(np.float32) for _ in range(int(rng.integers(1, 4)))]
    pad = pg.pads(padding, kh, kw, dil)
    if mode == "reflect" and (max(pad[:2]) >= h or max(pad[2:]) >= w):
        return
    try:
        out, formulas = pg.convolve(img, ks, padding, stride, dil, mode)
    except PlaygroundError as e:
        assert "kernel spans" in str(e)
        assert h + pad[0] + pad[1] < dil * (kh - 1) + 1 or w + pad[2] + pad[3] < dil * (kw - 1) + 1
        return
    for o, k in zip(out, ks):
        ref = ref_correlate(img, k, pad, stride, dil, mode)
        assert o.shape == ref.shape
        np.testing.assert_allclose(o, ref, rtol=1e-4, atol=1e-4)
    # the formula shown and the actual shape agree, and its own numbers work out to it
    assert formulas["height"].endswith(f"= {out.shape[1]}") and formulas["width"].endswith(f"= {out.shape[2]}")
    for key, n, k, (p0, p1), o in (("height", h, kh, pad[:2], out.shape[1]), ("width", w, kw, pad[2:], out.shape[2])):
        assert worked_out(formulas[key]) == (n, p0 + p1, dil * (k - 1) + 1, stride, o)
    assert ("span" in formulas) == (dil > 1)


def worked_out(text: str) -> tuple:
    """(n, 2p, k, s, output) read back from "⌊(n + 2p − k)/s⌋ + 1 = o", checked to add up."""
    import re
    m = re.fullmatch(r"⌊\((\d+) \+ (?:2·(\d+)|\((\d+)\+(\d+)\)) − (\d+)\)/(\d+)⌋ \+ 1 = (\d+)", text)
    assert m, text
    n, two_p = int(m[1]), 2 * int(m[2]) if m[2] is not None else int(m[3]) + int(m[4])
    k, s, o = int(m[5]), int(m[6]), int(m[7])
    assert (n + two_p - k) // s + 1 == o, text
    return n, two_p, k, s, o


def test_one_form_of_the_output_size_formula_with_dilation_said_first():
    """⌊(n + 2p − k)/s⌋ + 1, as the lessons and the Draw tab's layer table write it; with
    dilation, k is the span of the dilated kernel, and a sentence says so in numbers."""
    img = np.ones((6, 6), np.float32)
    _, f = pg.convolve(img, [np.ones((3, 3))], "valid")
    assert f == {"height": "⌊(6 + 2·0 − 3)/1⌋ + 1 = 4", "width": "⌊(6 + 2·0 − 3)/1⌋ + 1 = 4"}
    _, f = pg.convolve(img, [np.ones((3, 3))], 1, stride=2)
    assert f["height"] == "⌊(6 + 2·1 − 3)/2⌋ + 1 = 3"
    _, f = pg.convolve(img, [np.ones((3, 3))], "valid", dilation=2)
    assert f["height"] == "⌊(6 + 2·0 − 5)/1⌋ + 1 = 2"
    assert f["span"] == "dilation 2 makes the 3×3 kernel span 2·(3−1)+1 = 5 pixels, the k of the formula"
    out, f = pg.convolve(np.ones((9, 9), np.float32), [np.ones((2, 3))], "same", dilation=3)
    assert f["height"] == "⌊(9 + (1+2) − 4)/1⌋ + 1 = 9" and out.shape == (1, 9, 9)
    assert f["span"] == ("dilation 3 makes the 2×3 kernel span 3·(2−1)+1 = 4 by 3·(3−1)+1 = 7 pixels, "
                         "the k of the formula")
    _, f = pg.pool(np.ones((1, 28, 28), np.float32), "max", 2, 2)
    assert f["pool height"] == "⌊(28 + 2·0 − 2)/2⌋ + 1 = 14"


def test_against_scipy_correlate2d_and_same_padding_of_even_kernels():
    rng = np.random.default_rng(0)
    img = rng.random((9, 11)).astype(np.float32)
    k = rng.normal(size=(3, 4)).astype(np.float32)
    out, _ = pg.convolve(img, [k], "valid")
    np.testing.assert_allclose(out[0], signal.correlate2d(img, k, mode="valid"), atol=1e-5)
    same, _ = pg.convolve(img, [k], "same")
    assert same.shape[1:] == img.shape
    # PyTorch's "same": the extra column of padding of an even kernel goes right/bottom
    padded = np.pad(img, ((1, 1), (1, 2)))
    np.testing.assert_allclose(same[0], signal.correlate2d(padded, k, mode="valid"), atol=1e-5)


def test_output_of_size_one_and_kernel_larger_than_image():
    img = np.ones((5, 5), np.float32)
    out, f = pg.convolve(img, [np.ones((5, 5))], "valid")
    assert out.shape == (1, 1, 1) and out[0, 0, 0] == 25 and f["height"].endswith("= 1")
    with pytest.raises(PlaygroundError, match="kernel spans 7×7 pixels"):
        pg.convolve(img, [np.ones((7, 7))], "valid")


def test_rgb_bank_sums_over_channels():
    rng = np.random.default_rng(1)
    img = rng.random((3, 8, 8)).astype(np.float32)
    k = rng.normal(size=(3, 3, 3)).astype(np.float32)
    out, _ = pg.convolve(img, [k], "valid")
    ref = sum(signal.correlate2d(img[c], k[c], mode="valid") for c in range(3))
    np.testing.assert_allclose(out[0], ref, atol=1e-4)
    gray_out, _ = pg.convolve(img, [k[0]], "valid")  # a 2-D kernel sees the grayscale mean
    np.testing.assert_allclose(gray_out[0], signal.correlate2d(img.mean(0), k[0], mode="valid"), atol=1e-4)


def test_activation_and_pooling_against_numpy_and_scipy():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 8, 8)).astype(np.float32)
    np.testing.assert_array_equal(pg.activate(x, "relu"), np.where(x > 0, x, 0))
    np.testing.assert_allclose(pg.activate(x, "leaky_relu", 0.2), np.where(x > 0, x, 0.2 * x), rtol=1e-6)
    mx, f = pg.pool(x, "max", 2, 2)
    np.testing.assert_array_equal(mx, x.reshape(2, 4, 2, 4, 2).max((2, 4)))
    av, _ = pg.pool(x, "avg", 3, 1)
    ref = ndimage.uniform_filter(x[0].astype(np.float64), 3, mode="constant")[1:-1, 1:-1]
    np.testing.assert_allclose(av[0], ref, atol=1e-5)
    assert f["pool height"].endswith("= 4")


def test_chain_keeps_every_intermediate():
    img = np.random.default_rng(3).random((12, 12)).astype(np.float32)
    r = pg.chain(img, pg.PRESETS["Sobel x"], "same", activation="relu", pooling="max")
    assert r.conv.shape == (1, 12, 12) and r.activated.min() >= 0 and r.pooled.shape == (1, 6, 6)
    assert r.final is r.pooled


def test_step_by_step_window_matches_the_output():
    rng = np.random.default_rng(4)
    img = rng.random((6, 6)).astype(np.float32)
    k = rng.normal(size=(3, 3)).astype(np.float32)
    out, _ = pg.convolve(img, [k], 1, stride=2)
    for i in range(out[0].size):
        win, padded, n = pg.conv_window(img, k, i, 1, 2)
        assert n == out[0].size and padded.shape == (8, 8)
        assert abs(win.total - out[0, win.row, win.col]) < 1e-5
        np.testing.assert_allclose(win.products, win.patch * k)
    pw, n = pg.pool_window(img, 3, "max", 2, 2)
    assert n == 9 and pw.total == img[2:4, 0:2].max()


@pytest.mark.parametrize("cells,msg", [
    ([["1", "", "1"]], "row 1, column 2.*empty"),
    ([["1", "x"]], "'x', which is not a number"),
    ([], "empty"),
    ([["nan"]], "NaN or infinity"),
    ([["1"] * 12], r"shape \[1, 12\]; the largest allowed is 11×11"),
    ([["1"] * 1500] * 1500, "The kernel grid is 1500×1500; the largest allowed is 11×11"),
    ([["1"] * 13], "The kernel grid is 1×13"),
    ("1 2 3", "must be a grid of numbers"),
    ([["1e999"]], "NaN or infinity"),
])
def test_kernel_grid_errors(cells, msg):
    with pytest.raises(PlaygroundError, match=msg):
        pg.parse_kernel(cells)


def test_a_huge_grid_is_refused_by_its_size_before_any_cell_is_read():
    """A 1500×1500 grid was parsed whole (4 s, +117 MB) before the 11×11 check; its cells are
    never read now: the grid below holds cells that would fail to parse if they were."""
    class Unreadable:
        def __float__(self):
            raise AssertionError("a cell was read")

        __str__ = __float__
    with pytest.raises(PlaygroundError, match="1500×1500"):
        pg.parse_kernel([[Unreadable()] * 1500] * 1500)


def test_kernel_grid_trims_blank_edges_and_reads_unicode_minus():
    k = pg.parse_kernel([["1", "−2", ""], ["3", "4", ""], ["", "", ""]])
    np.testing.assert_array_equal(k, [[1, -2], [3, 4]])


@pytest.mark.parametrize("kw,msg", [
    (dict(stride=0), "Stride must be between 1"), (dict(stride=-1), "Stride"), (dict(dilation=0), "Dilation"),
    (dict(padding="lots"), "Padding must be"), (dict(padding_mode="circular"), "Padding mode"),
    (dict(stride=1.5), "whole number"),
])
def test_bad_parameters(kw, msg):
    with pytest.raises(PlaygroundError, match=msg):
        pg.convolve(np.zeros((8, 8), np.float32), [np.ones((3, 3))], **kw)


def test_all_zero_kernel_is_fine_and_gives_zeros():
    out, _ = pg.convolve(np.ones((8, 8), np.float32), [np.zeros((3, 3))])
    assert (out == 0).all()
