import pytest

from cnn_demo.data import DataError, load_mnist, read_folder
from conftest import write_idx


def test_shared_mnist_reads_with_its_documented_figures(mnist):
    assert mnist.train_x.shape == (60000, 28, 28) and mnist.test_x.shape == (10000, 28, 28)
    assert mnist.train_y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert mnist.test_y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    x = mnist.images("train")
    assert abs(x.mean().item() - 0.1307) < 1e-3 and abs(x.std().item() - 0.3081) < 1e-3


def test_env_variable_names_the_folder(monkeypatch, tiny_mnist_dir):
    monkeypatch.setenv("CNN_DEMO_DATA", str(tiny_mnist_dir))
    d = load_mnist()
    assert len(d.train_y) == 512 and len(d.test_y) == 256  # gz and plain files both read


def test_folder_without_the_files_says_which_are_missing(tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"")
    with pytest.raises(DataError, match="lacks train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels"):
        read_folder(tmp_path)


def test_missing_folder(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_folder(tmp_path / "nope")


def test_truncated_idx_is_reported(tmp_path, mnist):
    for name, arr in [("train-images-idx3-ubyte", mnist.train_x[:10].numpy()),
                      ("train-labels-idx1-ubyte", mnist.train_y[:10].numpy()),
                      ("t10k-images-idx3-ubyte", mnist.test_x[:10].numpy()),
                      ("t10k-labels-idx1-ubyte", mnist.test_y[:10].numpy())]:
        write_idx(tmp_path / name, arr, gz=False)
    p = tmp_path / "t10k-images-idx3-ubyte"
    p.write_bytes(p.read_bytes()[:-100])
    with pytest.raises(DataError, match="truncated or corrupt"):
        read_folder(tmp_path)


def test_mismatched_counts_are_reported(tmp_path, mnist):
    write_idx(tmp_path / "train-images-idx3-ubyte", mnist.train_x[:10].numpy())
    write_idx(tmp_path / "train-labels-idx1-ubyte", mnist.train_y[:9].numpy())
    write_idx(tmp_path / "t10k-images-idx3-ubyte", mnist.test_x[:10].numpy())
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", mnist.test_y[:10].numpy())
    with pytest.raises(DataError, match="do not match"):
        read_folder(tmp_path)


def test_no_folder_and_no_download_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.delenv("CNN_DEMO_DATA", raising=False)
    monkeypatch.setattr("cnn_demo.data.DEFAULT_CACHE", tmp_path)
    with pytest.raises(DataError, match="No MNIST here"):
        load_mnist(allow_download=False)
