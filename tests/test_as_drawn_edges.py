"""as_drawn's parallel path (from 256 digits) against the Draw tab's preprocessing digit by digit,
and its disk cache keyed by the images themselves: another data set of the same shape, or a
cached file of the wrong shape or dtype, is never served."""
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
import torch

from cnn_demo import as_drawn
from cnn_demo.preprocess import preprocess


def by_hand(images: np.ndarray) -> np.ndarray:
    """Each digit through preprocess (MNIST: light ink on black), rounded to uint8."""
    return np.stack([np.round(preprocess(im, paper="dark").image * 255).astype(np.uint8) for im in images])


class CountingPool(ProcessPoolExecutor):
    """A real process pool that notes each time one is started, and with how many workers."""
    started: list = []

    def __init__(self, workers):
        CountingPool.started.append(workers)
        super().__init__(workers)


@pytest.fixture
def counted(monkeypatch):
    CountingPool.started = []
    monkeypatch.setattr(as_drawn, "ProcessPoolExecutor", CountingPool)
    return CountingPool.started


def test_from_256_digits_the_pool_makes_what_preprocessing_makes_digit_by_digit(mnist, counted):
    x = mnist.train_x[1000:1256].numpy()
    out = as_drawn.as_drawn(x, workers=2)
    assert counted == [2]  # the parallel path
    assert out.dtype == np.uint8 and out.shape == x.shape
    assert np.array_equal(out, by_hand(x))


def test_below_256_digits_or_with_one_worker_no_pool_is_started(mnist, counted):
    x = mnist.train_x[:256].numpy()
    assert np.array_equal(as_drawn.as_drawn(x[:255], workers=2), by_hand(x[:255]))
    assert np.array_equal(as_drawn.as_drawn(x, workers=1), by_hand(x))
    assert counted == []


def test_a_blank_digit_is_kept_as_it_is():
    blank = np.zeros((28, 28), np.uint8)
    assert np.array_equal(as_drawn.one(blank), blank)
    faint = np.full((28, 28), 10, np.uint8)  # below the ink threshold everywhere: no ink either
    assert np.array_equal(as_drawn.one(faint), faint)


def test_two_data_sets_of_one_shape_get_two_cached_copies(mnist, tmp_path):
    a, b = mnist.train_x[:40], mnist.train_x[40:80]
    got_a, got_b = as_drawn.cached(a, tmp_path), as_drawn.cached(b, tmp_path)
    assert np.array_equal(got_a.numpy(), by_hand(a.numpy())) and np.array_equal(got_b.numpy(), by_hand(b.numpy()))
    assert len(list(tmp_path.glob(f"as-drawn-v{as_drawn.VERSION}-*.npy"))) == 2
    assert np.array_equal(as_drawn.cached(b, tmp_path).numpy(), got_b.numpy())  # read back, the right one


@pytest.mark.parametrize("stored", [np.zeros((39, 28, 28), np.uint8), np.zeros((40, 28, 28), np.float32),
                                    np.zeros((40, 28, 27), np.uint8), np.zeros((40, 28, 28), np.int16)])
def test_a_cached_file_of_another_shape_or_dtype_is_made_again(mnist, tmp_path, stored):
    x = mnist.train_x[:40]
    first = as_drawn.cached(x, tmp_path)
    (path,) = tmp_path.glob("as-drawn-v*.npy")
    np.save(path, stored)
    again = as_drawn.cached(x, tmp_path)
    assert again.dtype == torch.uint8 and torch.equal(again, first)
    back = np.load(path)
    assert back.dtype == np.uint8 and np.array_equal(back, first.numpy())  # and written again
    assert not list(tmp_path.glob("*.tmp"))


def test_without_a_folder_the_cache_is_next_to_the_mnist_download(mnist, tmp_path, monkeypatch):
    monkeypatch.setattr("cnn_demo.data.DEFAULT_CACHE", tmp_path / "default")
    x = mnist.train_x[:20]
    assert np.array_equal(as_drawn.cached(x).numpy(), by_hand(x.numpy()))
    assert len(list((tmp_path / "default").glob("as-drawn-v1-*.npy"))) == 1


def test_a_cache_that_cannot_be_written_costs_only_the_time(mnist, tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    x = mnist.train_x[:20]
    assert np.array_equal(as_drawn.cached(x, blocked).numpy(), by_hand(x.numpy()))


def test_the_cache_file_is_named_by_the_images_hash_in_a_folder_made_for_it(mnist, tmp_path):
    import hashlib
    x = mnist.train_x[:10]
    folder = tmp_path / "not" / "yet"
    as_drawn.cached(x, folder)
    key = hashlib.sha256(x.numpy().tobytes()).hexdigest()[:16]
    assert [p.name for p in folder.iterdir()] == [f"as-drawn-v{as_drawn.VERSION}-{key}.npy"]
