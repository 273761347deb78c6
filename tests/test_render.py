import numpy as np
import pytest
import torch

from cnn_demo.views import common as html_views, render
from cnn_demo.checkpoints import load
from cnn_demo.probe import filters, probe
from conftest import ROOT


def test_diverging_scale_is_symmetric_and_white_at_zero():
    cmap, lo, hi = render.scale_for(np.array([-1.0, 3.0]))
    assert cmap == "diverging" and lo == -3 and hi == 3
    rgb = render.colorize(np.array([0.0]), cmap, lo, hi)[0]
    assert (rgb > 235).all()  # zero is (near) white
    assert render.scale_for(np.array([0.0, 2.0]))[0] == "viridis"


def test_filter_mosaic_uses_one_symmetric_scale():
    w = np.zeros((16, 6, 5, 5), np.float32)
    w[0, 0, 0, 0], w[3, 2, 1, 1] = 0.5, -2.0
    img, (cmap, lo, hi) = render.filter_mosaic(w)
    assert cmap == "diverging" and (lo, hi) == (-2.0, 2.0)
    assert img.dtype == np.uint8 and img.ndim == 3


def test_the_flow_captions_every_stage_in_order():
    """The network as one flow: the input, then every stage in network order, each named with
    its shape, one colour scale each; a map stage is one encoded mosaic (as before the flow), a
    vector stage one strip each way (upright beside the maps, across on a phone)."""
    import re

    from cnn_demo.views import flow
    ck = load(ROOT / "checkpoints" / "lenet5")
    stages, _ = probe(ck.model, torch.rand(1, 1, 28, 28))
    html = flow.flow_html(stages, np.zeros((28, 28), np.float32), flow.op_labels(ck.model))
    heads = re.findall(r'<div class="cx-fhead"[^>]*><b>([^<]+)</b><span class="cx-sub">([^<]+)</span>', html)
    assert heads == [("input", "1×28×28"), ("C1", "6×28×28"), ("C1 + ReLU", "6×28×28"), ("S2", "6×14×14"),
                     ("C3", "16×10×10"), ("C3 + ReLU", "16×10×10"), ("S4", "16×5×5"), ("C5", "120×1×1"),
                     ("C5 + ReLU", "120×1×1"), ("F6", "84"), ("F6 + ReLU", "84"), ("OUTPUT", "10")]
    ops = re.findall(r'<span class="cx-jop">([^<]+)</span>', html)
    assert ops == ["conv 5×5", "ReLU", "max-pool 2×2", "conv 5×5", "ReLU", "max-pool 2×2", "conv 5×5", "ReLU",
                   "fully connected", "ReLU", "fully connected"]
    assert html.count('class="cx-legend"') == len(stages)
    maps = [s for s in stages if s.output.ndim == 3 and s.output.shape[1] > 1]
    assert html.count("--sprite:url(data:image/png") == len(maps) == 6
    assert html.count('class="cx-px cx-up"') == html.count('class="cx-px cx-across"') == len(stages) - len(maps)
    f = html_views.filters_html(filters(ck.model))
    assert "C1 filters" in f and "C3 filters" in f and "C5 filters" in f and "16 filters, each 6 kernels" in f


@pytest.mark.parametrize("shape", [(1, 1), (28, 28), (7, 3), (28, 28, 3), (5, 200, 3), (10, 10, 4), (256, 256, 3),
                                   (300, 301, 3)])
def test_png_decodes_to_exactly_the_pixels(shape):
    """The hand-written encoder (small images) and PIL's (large ones) both round-trip."""
    import io
    from PIL import Image
    a = np.random.default_rng(sum(shape)).integers(0, 256, shape, dtype=np.uint8)
    back = np.asarray(Image.open(io.BytesIO(render.png(a))))
    assert back.shape == a.shape and np.array_equal(back, a)


@pytest.mark.parametrize("shape", [(64, 14, 14), (6, 28, 28), (3, 5, 7), (120, 28, 28)])
def test_a_feature_mosaic_is_one_byte_a_pixel_and_shows_the_colormap(shape):
    """Stage mosaics go as palette PNGs (one byte a pixel): decoded, each map's pixel is the
    colormap's colour of its value (to one step of 255), the tiles sit where unit.js expects
    them, and the grey between them is exact. Small ones use the hand-written encoder, large
    ones PIL's; NaN shows as the bottom of the scale, not as noise."""
    import io
    from PIL import Image
    maps = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    maps[0, 0, 0] = np.nan
    img, scale = render.feature_mosaic(maps, 8)
    back = np.asarray(Image.open(io.BytesIO(render.png(img))).convert("RGB")).astype(int)
    c, h, w = shape
    cols = min(c, 8)
    assert back.shape == img.shape == ((-(-c // cols)) * (h + 1) - 1, cols * (w + 1) - 1, 3)
    want = render.colorize(np.nan_to_num(maps, nan=scale[1]), *scale).astype(int)
    for i in range(c):
        r, q = divmod(i, cols)
        tile = back[r * (h + 1): r * (h + 1) + h, q * (w + 1): q * (w + 1) + w]
        assert np.abs(tile - want[i]).max() <= 4, i
    assert c <= cols or (back[h, :] == render.GAP).all()  # the row of grey under the first row of tiles
    assert (back[:h, w] == render.GAP).all()  # and the column right of the first tile
