import numpy as np
import torch

from cnn_demo import as_drawn, data
from cnn_demo.preprocess import preprocess, stroke_width


def test_a_digit_comes_out_as_the_app_preprocesses_it(mnist):
    img = mnist.train_x[7].numpy()
    out = as_drawn.one(img)
    assert out.dtype == np.uint8 and out.shape == (28, 28)
    assert np.abs(out / 255 - preprocess(img, paper="dark").image).max() <= 0.5 / 255 + 1e-6


def test_pens_of_every_width_come_out_alike(mnist):
    """The point of it: MNIST's thinnest and boldest pens end up at one width, as a sketch does."""
    x = mnist.train_x[:600].numpy()
    widths = np.array([stroke_width(im / 255) for im in x])
    thin, bold = x[widths < np.quantile(widths, 0.1)], x[widths > np.quantile(widths, 0.9)]
    before = np.median([stroke_width(im / 255) for im in bold]) / np.median([stroke_width(im / 255) for im in thin])
    out = as_drawn.as_drawn(np.concatenate([thin, bold]), workers=2)
    w = np.array([stroke_width(im / 255) for im in out])
    after = np.median(w[len(thin):]) / np.median(w[:len(thin)])
    assert before > 1.8 and after < 1.35


def test_cached_copy_is_written_once_and_read_back(mnist, tmp_path):
    x = mnist.train_x[:40]
    a = as_drawn.cached(x, tmp_path)
    files = list(tmp_path.glob("as-drawn-v*.npy"))
    assert len(files) == 1 and a.dtype == torch.uint8 and a.shape == x.shape
    np.save(files[0], np.zeros((40, 28, 28), np.uint8))  # the file is what is read the second time
    assert as_drawn.cached(x, tmp_path).sum() == 0
    files[0].write_bytes(b"not an array")  # unreadable: made again, not a crash
    try:
        b = as_drawn.cached(x, tmp_path)
    except ValueError:
        b = None
    assert b is not None and torch.equal(a, b)
    assert data.DEFAULT_CACHE not in files[0].parents
