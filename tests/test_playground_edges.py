"""The playground against references that share nothing with it (padding worked out by hand,
the sliding window in plain loops), every random case checked — including the reflect and
"kernel spans" ones, which must give their sentences — and each bound at its edge."""
import math

import numpy as np
import pytest

from cnn_demo import playground as pg
from cnn_demo.limits import MAX_OUTPUT_VALUES
from cnn_demo.playground import PlaygroundError


def pads_by_hand(padding, kh, kw, d):
    """(top, bottom, left, right) as PyTorch defines them, written out again."""
    if padding == "valid":
        return 0, 0, 0, 0
    if padding == "same":
        th, tw = d * (kh - 1), d * (kw - 1)
        return th // 2, th - th // 2, tw // 2, tw - tw // 2
    return (padding,) * 4


def reference(img, k, pad, stride, d, mode):
    """The sliding window in loops, with the padding done pixel by pixel."""
    t, b, l, r = pad
    h, w = img.shape

    def at(y, x):  # the padded image's pixel (y, x), y and x counted from the padded corner
        y, x = y - t, x - l
        if 0 <= y < h and 0 <= x < w:
            return float(img[y, x])
        if mode == "zeros":
            return 0.0
        if mode == "replicate":
            return float(img[min(max(y, 0), h - 1), min(max(x, 0), w - 1)])
        ry = -y if y < 0 else 2 * (h - 1) - y if y >= h else y  # reflect: the edge pixel not repeated
        rx = -x if x < 0 else 2 * (w - 1) - x if x >= w else x
        return float(img[ry, rx])
    kh, kw = k.shape
    oh = (h + t + b - d * (kh - 1) - 1) // stride + 1
    ow = (w + l + r - d * (kw - 1) - 1) // stride + 1
    out = np.zeros((max(oh, 0), max(ow, 0)))
    for i in range(oh):
        for j in range(ow):
            out[i, j] = sum(at(i * stride + u * d, j * stride + v * d) * float(k[u, v])
                            for u in range(kh) for v in range(kw))
    return out


@pytest.mark.parametrize("seed", range(60))
def test_random_cases_against_loops_and_every_refusal_checked(seed):
    rng = np.random.default_rng(1000 + seed)
    h, w = (int(v) for v in rng.integers(2, 14, 2))
    kh, kw = (int(v) for v in rng.integers(1, 7, 2))
    stride, d = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    padding = ["valid", "same", int(rng.integers(0, 8))][seed % 3]
    mode = pg.PADDING_MODES[(seed // 3) % 3]
    img = rng.random((h, w)).astype(np.float32)
    ks = [rng.normal(size=(kh, kw)).astype(np.float32) for _ in range(int(rng.integers(1, 3)))]
    t, b, l, r = pads_by_hand(padding, kh, kw, d)
    eh, ew = d * (kh - 1) + 1, d * (kw - 1) + 1
    if h + t + b < eh or w + l + r < ew:
        with pytest.raises(PlaygroundError) as e:
            pg.convolve(img, ks, padding, stride, d, mode)
        assert str(e.value) == (f"The kernel spans {eh}×{ew} pixels (with dilation {d}) but the padded image is only "
                                f"{h + t + b}×{w + l + r}: use a smaller kernel or more padding.")
        return
    if mode == "reflect" and (max(t, b) >= h or max(l, r) >= w):
        with pytest.raises(PlaygroundError) as e:
            pg.convolve(img, ks, padding, stride, d, mode)
        assert str(e.value) == "Reflect padding must be smaller than the image; use less padding or another mode."
        return
    out, formulas = pg.convolve(img, ks, padding, stride, d, mode)
    for o, k in zip(out, ks):
        np.testing.assert_allclose(o, reference(img, k, (t, b, l, r), stride, d, mode), rtol=1e-4, atol=1e-4)
    two_p = f"2·{t}" if t == b else f"({t}+{b})"
    # the app's one form, ⌊(n + 2p − k)/s⌋ + 1, k the span of the (dilated) kernel, worked out here
    assert formulas["height"] == f"⌊({h} + {two_p} − {eh})/{stride}⌋ + 1 = {out.shape[1]}"
    assert out.shape[1] == (h + t + b - eh) // stride + 1


def test_the_random_cases_reach_each_branch():
    """The cases above are not all of one kind: some are computed, some refused each way."""
    kinds = set()
    for seed in range(60):
        rng = np.random.default_rng(1000 + seed)
        h, w = (int(v) for v in rng.integers(2, 14, 2))
        kh, kw = (int(v) for v in rng.integers(1, 7, 2))
        stride, d = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        padding = ["valid", "same", int(rng.integers(0, 8))][seed % 3]
        mode = pg.PADDING_MODES[(seed // 3) % 3]
        t, b, l, r = pads_by_hand(padding, kh, kw, d)
        if h + t + b < d * (kh - 1) + 1 or w + l + r < d * (kw - 1) + 1:
            kinds.add("spans")
        elif mode == "reflect" and (max(t, b) >= h or max(l, r) >= w):
            kinds.add("reflect")
        else:
            kinds.add(mode)
    assert kinds == {"spans", "reflect", "zeros", "reflect", "replicate"}


@pytest.mark.parametrize("pad", [4, 5])
def test_reflect_padding_equal_to_the_image_side_gets_a_sentence(pad):
    img = np.arange(16, dtype=np.float32).reshape(4, 4)
    with pytest.raises(PlaygroundError, match="^Reflect padding must be smaller than the image"):
        pg.convolve(img, [np.ones((3, 3))], pad, padding_mode="reflect")
    wide = np.arange(40, dtype=np.float32).reshape(4, 10)  # only its height is too small
    with pytest.raises(PlaygroundError, match="^Reflect padding must be smaller than the image"):
        pg.convolve(wide, [np.ones((3, 3))], pad, padding_mode="reflect")
    tall = np.ascontiguousarray(wide.T)  # only its width
    with pytest.raises(PlaygroundError, match="^Reflect padding must be smaller than the image"):
        pg.convolve(tall, [np.ones((3, 3))], pad, padding_mode="reflect")


def test_reflect_padding_one_short_of_the_image_side_is_computed():
    img = np.arange(16, dtype=np.float32).reshape(4, 4)
    k = np.arange(9, dtype=np.float32).reshape(3, 3)
    out, _ = pg.convolve(img, [k], 3, padding_mode="reflect")
    np.testing.assert_allclose(out[0], reference(img, k, (3, 3, 3, 3), 1, 1, "reflect"), atol=1e-4)


@pytest.mark.parametrize("stride,d,padding,mode", [(1, 2, "same", "zeros"), (2, 2, 1, "replicate"),
                                                    (1, 3, "valid", "zeros"), (3, 2, 2, "reflect")])
def test_the_step_by_step_window_honours_dilation(stride, d, padding, mode):
    rng = np.random.default_rng(d * 10 + stride)
    img = rng.random((9, 8)).astype(np.float32)
    k = rng.normal(size=(3, 3)).astype(np.float32)
    ref = reference(img, k, pads_by_hand(padding, 3, 3, d), stride, d, mode)
    for i in range(ref.size):
        win, padded, n = pg.conv_window(img, k, i, padding, stride, d, mode)
        r, c = divmod(i, ref.shape[1])
        assert n == ref.size and (win.row, win.col) == (r, c) and (win.top, win.left) == (r * stride, c * stride)
        assert win.patch.shape == (3, 3)
        want = np.array([[padded[r * stride + u * d, c * stride + v * d] for v in range(3)] for u in range(3)])
        assert np.array_equal(win.patch, want)
        assert win.total == pytest.approx(ref[r, c], abs=1e-4)


def test_a_window_index_out_of_range_is_clamped_and_a_kernel_too_large_is_refused():
    img = np.arange(25, dtype=np.float32).reshape(5, 5)
    k = np.ones((3, 3), np.float32)
    first, _, n = pg.conv_window(img, k, -7)
    last, _, _ = pg.conv_window(img, k, 10 ** 9)
    assert n == 9 and (first.row, first.col) == (0, 0) and (last.row, last.col) == (2, 2)
    assert last.total == float(img[2:, 2:].sum())
    with pytest.raises(PlaygroundError, match="^The kernel does not fit in the \\(padded\\) image.$"):
        pg.conv_window(img, np.ones((3, 3), np.float32), 0, "valid", 1, 3)


def test_pool_windows_by_hand():
    x = np.arange(30, dtype=np.float32).reshape(5, 6)
    win, n = pg.pool_window(x, 5, "max", 2, 2)
    assert n == 6 and (win.row, win.col, win.top, win.left) == (1, 2, 2, 4) and win.total == 23.0
    win, n = pg.pool_window(x, 99, "avg", 3, 1)
    assert n == 12 and (win.row, win.col) == (2, 3) and win.total == pytest.approx(float(x[2:5, 3:6].mean()))
    win, _ = pg.pool_window(x, -1, "max", 2, 2)
    assert (win.row, win.col) == (0, 0)


@pytest.mark.parametrize("shape", [(1, 5, 2), (1, 2, 5), (2, 2, 2)])
def test_a_pooling_window_wider_or_taller_than_the_map_gets_a_sentence(shape):
    h, w = shape[1:]
    with pytest.raises(PlaygroundError) as e:
        pg.pool(np.zeros(shape, np.float32), "max", 3, 1)
    assert str(e.value) == f"The 3×3 pooling window is larger than the {h}×{w} map it pools."


def test_a_pooling_window_as_large_as_the_map_is_computed():
    x = np.arange(18, dtype=np.float32).reshape(2, 3, 3)
    out, f = pg.pool(x, "max", 3, 1)
    assert out.shape == (2, 1, 1) and out[:, 0, 0].tolist() == [8.0, 17.0]
    assert f["pool width"] == "⌊(3 + 2·0 − 3)/1⌋ + 1 = 1"


@pytest.mark.parametrize("kw,said", [
    (dict(stride=64), None), (dict(stride=65), "Stride must be between 1 and 64, not 65."),
    (dict(dilation=16, padding="valid"), "The kernel spans"), (dict(dilation=17), "Dilation must be between 1 and 16, not 17."),
    (dict(padding=16), None), (dict(padding=17), "Padding must be 'valid', 'same' or a whole number from 0 to 16, not '17'."),
    (dict(padding="3"), None), (dict(padding=2.5), "Padding must be 'valid', 'same' or a whole number from 0 to 16, not '2.5'."),
    (dict(padding=None), None), (dict(padding=""), None), (dict(padding=-1), "from 0 to 16, not '-1'"),
    (dict(padding=float("inf")), "from 0 to 16"), (dict(padding=[1]), "Padding must be 'valid', 'same' or a whole number, not '[1]'."),
    (dict(stride="x"), "Stride must be a whole number, not 'x'."), (dict(stride=float("nan")), "Stride must be a whole number"),
])
def test_convolution_settings_at_their_edges(kw, said):
    img = np.random.default_rng(0).random((20, 20)).astype(np.float32)
    if said is None:
        out, _ = pg.convolve(img, [np.ones((3, 3))], **kw)
        assert out.shape[0] == 1
        return
    with pytest.raises(PlaygroundError) as e:
        pg.convolve(img, [np.ones((3, 3))], **kw)
    assert said in str(e.value)


def test_padding_given_as_text_is_the_number_it_says():
    img = np.random.default_rng(1).random((6, 6)).astype(np.float32)
    k = np.ones((3, 3), np.float32)
    assert np.array_equal(pg.convolve(img, [k], "2")[0], pg.convolve(img, [k], 2)[0])
    assert pg.convolve(img, [k], "2")[0].shape == (1, 8, 8)
    assert pg.pads(None, 3, 3, 1) == pg.pads("", 3, 3, 1) == pg.pads("valid", 5, 5, 2) == (0, 0, 0, 0)
    assert pg.pads("same", 4, 5, 2) == (3, 3, 4, 4) and pg.pads("same", 2, 3, 1) == (0, 1, 1, 1)


@pytest.mark.parametrize("pool_kw,said", [
    (dict(kernel=31, stride=1), (1, 1, 10)), (dict(kernel=32, stride=1), "larger than"), (dict(kernel=33), "Pool size must be between 1 and 32, not 33."),
    (dict(stride=32), (1, 1, 2)), (dict(stride=33), "Pool stride must be between 1 and 32, not 33."),
    (dict(kernel=0), "Pool size must be between 1 and 32, not 0."), (dict(kind="median"), "Pooling must be one of"),
])
def test_pooling_settings_at_their_edges(pool_kw, said):
    x = np.zeros((1, 31, 40), np.float32)
    if isinstance(said, tuple):
        out, _ = pg.pool(x, **pool_kw)
        assert out.shape == said
        return
    with pytest.raises(PlaygroundError) as e:
        pg.pool(x, **pool_kw)
    assert said in str(e.value)


def test_leaky_relu_slopes_at_their_edges():
    x = np.array([-2.0, 0.0, 3.0], np.float32)
    assert pg.activate(x, "leaky_relu", 0).tolist() == [0.0, 0.0, 3.0]
    assert pg.activate(x, "leaky_relu", 1).tolist() == [-2.0, 0.0, 3.0]
    assert pg.activate(x, "leaky_relu", "0.5").tolist() == [-1.0, 0.0, 3.0]
    assert pg.activate(x, "leaky_relu").tolist() == pytest.approx([-0.02, 0.0, 3.0])
    for bad, said in ((1.0001, "between 0 and 1, not 1.0001"), (-0.1, "between 0 and 1"), (float("nan"), "between 0 and 1"),
                      ("steep", "must be a number, not 'steep'")):
        with pytest.raises(PlaygroundError, match=said):
            pg.activate(x, "leaky_relu", bad)
    with pytest.raises(PlaygroundError, match="Activation must be one of none, relu, leaky_relu, not 'gelu'."):
        pg.activate(x, "gelu")
    assert pg.activate(x, "none") is x


def test_kernel_counts_and_values_at_their_edges():
    k = np.ones((3, 3))
    assert len(pg.check_kernels([k] * 16)) == 16
    with pytest.raises(PlaygroundError, match="^At most 16 kernels at once, not 17.$"):
        pg.check_kernels([k] * 17)
    assert pg.check_kernels([np.full((2, 2), 1e6)])[0].max() == 1e6
    with pytest.raises(PlaygroundError, match="^Kernel 2 holds values beyond ±1,000,000.$"):
        pg.check_kernels([k, np.full((3, 3), -1.0001e6)])
    assert pg.check_kernels([np.ones((11, 11))])[0].shape == (11, 11)
    with pytest.raises(PlaygroundError, match=r"^Kernel 1 has shape \[11, 12\]"):
        pg.check_kernels([np.ones((11, 12))])
    assert pg.check_kernels([np.ones((3, 5, 5))])[0].shape == (3, 5, 5)
    with pytest.raises(PlaygroundError, match="^Kernel 1 has 2 slices; a 3-D kernel needs one per RGB channel"):
        pg.check_kernels([np.ones((2, 3, 3))])
    with pytest.raises(PlaygroundError, match=r"^Kernel 1 has shape \[4, 3, 3\]"):
        pg.check_kernels([np.ones((4, 3, 3))])
    with pytest.raises(PlaygroundError, match=r"^All kernels applied together must have the same size; got 3×3, 5×5.$"):
        pg.check_kernels([np.ones((5, 5)), k])
    for bad in ([], None, "k"):
        with pytest.raises(PlaygroundError, match="^Give at least one kernel.$"):
            pg.check_kernels(bad)
    with pytest.raises(PlaygroundError, match="^Kernel 1 is not a rectangular grid of numbers.$"):
        pg.check_kernels([[[1, 2], [3]]])
    with pytest.raises(PlaygroundError, match=r"^Kernel 1 must be a 2-D grid .* got shape \[3\].$"):
        pg.check_kernels([[1, 2, 3]])
    with pytest.raises(PlaygroundError, match=r"got shape \[0, 0\]"):
        pg.check_kernels([np.zeros((0, 0))])


def test_a_kernel_grid_one_row_and_column_over_is_read_when_they_are_blank():
    grid = [["1"] * 11 + [""] for _ in range(11)] + [[""] * 12]
    assert pg.parse_kernel(grid).shape == (11, 11)
    with pytest.raises(PlaygroundError, match="^The kernel grid is 13×12"):
        pg.parse_kernel(grid + [[""] * 12])
    with pytest.raises(PlaygroundError, match=r"shape \[12, 11\]"):
        pg.parse_kernel([["1"] * 11 for _ in range(12)])
    assert pg.parse_kernel([[1, 2.5], [" 3 ", "-4"]]).tolist() == [[1, 2.5], [3, -4]]
    with pytest.raises(PlaygroundError, match=r"^Kernel cell \(row 2, column 1\) is empty"):
        pg.parse_kernel([["1", "2"], [None, "3"]])
    with pytest.raises(PlaygroundError, match="^The kernel must be a grid of numbers"):
        pg.parse_kernel([["1"], "2"])


def test_three_d_kernels_need_colour_and_a_flat_one_sees_the_gray_mean():
    rgb = np.random.default_rng(2).random((3, 6, 6)).astype(np.float32)
    with pytest.raises(PlaygroundError, match=r"^3-D kernels \(one slice per colour channel\) need an RGB image.$"):
        pg.convolve(rgb[0], [np.ones((3, 3, 3))])
    k = np.random.default_rng(3).normal(size=(3, 3)).astype(np.float32)
    out, _ = pg.convolve(rgb, [k[None]], "valid")  # one slice: the gray image, like a 2-D kernel
    np.testing.assert_allclose(out[0], reference(rgb.mean(0), k, (0, 0, 0, 0), 1, 1, "zeros"), atol=1e-4)


def test_the_output_bound_at_its_edge():
    at = pg.ChainResult(None, None, None, np.zeros((1, 512, 512), np.float32))
    pg.check_output_size(at)
    over = pg.ChainResult(None, None, None, np.zeros((1, 512, 513), np.float32))
    with pytest.raises(PlaygroundError) as e:
        pg.check_output_size(over)
    assert str(e.value) == (f"The output would be 1×512×513 = {512 * 513:,} numbers; /convolve returns at most "
                            f"{MAX_OUTPUT_VALUES:,}: use fewer kernels, a stride or pooling, or a smaller image.")


def test_chain_refuses_an_unknown_pooling_and_keeps_each_step():
    img = np.random.default_rng(4).random((8, 8)).astype(np.float32)
    with pytest.raises(PlaygroundError, match="^Pooling must be one of none, max, avg, not 'median'.$"):
        pg.chain(img, [np.ones((3, 3))], pooling="median")
    r = pg.chain(img, [-np.ones((3, 3))], "valid", activation="leaky_relu", slope=0.5, pooling="avg", pool_kernel=2,
                 pool_stride=3)
    assert r.pooled.shape == (1, 2, 2) and r.final is r.pooled and r.activated.max() < 0
    np.testing.assert_allclose(r.activated, 0.5 * r.conv, rtol=1e-6)
    assert set(r.formulas) == {"height", "width", "pool height", "pool width"}
    plain = pg.chain(img, [np.ones((3, 3))])
    assert plain.pooled is None and plain.final is plain.activated and set(plain.formulas) == {"height", "width"}


def test_magnitude_and_the_random_bank():
    gx, gy = np.array([3.0, -5.0]), np.array([4.0, 12.0])
    assert pg.magnitude(gx, gy).tolist() == [5.0, 13.0] and pg.magnitude(gx, gy).dtype == np.float32
    a, b, c = pg.random_bank(7), pg.random_bank(7), pg.random_bank(8)
    assert a.shape == (8, 3, 3, 3) and np.array_equal(a, b) and not np.array_equal(a, c)
    bound = 1 / math.sqrt(27)
    assert np.abs(a).max() <= bound and np.abs(a).max() > 0.8 * bound
    assert pg.random_bank(1, in_channels=1, out_channels=2, k=5).shape == (2, 1, 5, 5)


def test_chain_passes_each_setting_on_and_defaults_to_a_leaky_slope_of_a_hundredth():
    rng = np.random.default_rng(5)
    img = rng.random((9, 9)).astype(np.float32)
    k = rng.normal(size=(3, 3)).astype(np.float32)
    r = pg.chain(img, [k], 1, padding_mode="reflect", activation="leaky_relu", pooling="max", pool_kernel=3,
                 pool_stride=2)
    conv = reference(img, k, (1, 1, 1, 1), 1, 1, "reflect")
    np.testing.assert_allclose(r.conv[0], conv, atol=1e-4)
    act = np.where(conv >= 0, conv, 0.01 * conv)
    np.testing.assert_allclose(r.activated[0], act, atol=1e-4)
    pooled = np.array([[act[i:i + 3, j:j + 3].max() for j in range(0, 7, 2)] for i in range(0, 7, 2)])
    np.testing.assert_allclose(r.pooled[0], pooled, atol=1e-4)


def test_a_pool_window_by_default_is_2_by_2_max_with_stride_2():
    x = np.arange(16, dtype=np.float32).reshape(4, 4)
    win, n = pg.pool_window(x, 3)
    assert n == 4 and (win.row, win.col, win.top, win.left) == (1, 1, 2, 2) and win.total == 15.0
    assert np.array_equal(win.patch, x[2:4, 2:4]) and np.array_equal(win.products, x[2:4, 2:4])


@pytest.mark.parametrize("cells,said", [
    ("1 2", "The kernel must be a grid of numbers (rows of cells)."),
    ([["", ""], [None, " "]], "The kernel is empty: type numbers into the grid."),
    ([["1", "2"], ["3"]], "Kernel cell (row 2, column 2) is empty: every cell needs a number."),
    ([["1", "2", "3"], ["4", "5", "x" * 30]], "Kernel cell (row 2, column 3) holds 'xxxxxxxxxxxxxxxxxxxx', which is not "
                                             "a number."),
])
def test_each_kernel_grid_error_names_its_cell_exactly(cells, said):
    with pytest.raises(PlaygroundError) as e:
        pg.parse_kernel(cells)
    assert str(e.value) == said


def test_a_cells_first_40_characters_are_read_and_numbers_of_any_kind_taken():
    from fractions import Fraction
    assert pg.parse_kernel([["1.5" + "0" * 37 + "x"]]).tolist() == [[1.5]]  # the 41st character is not read
    assert pg.parse_kernel([[Fraction(1, 4), np.float64(2.0)]]).tolist() == [[0.25, 2.0]]
    assert pg.parse_kernel([["1", "2"]]).dtype == np.float32


def test_activation_defaults_to_none_and_leaky_relu_stays_float32():
    x = np.array([-1.0, 2.0], np.float32)
    assert pg.activate(x) is x
    assert pg.activate(x, "leaky_relu").dtype == np.float32
