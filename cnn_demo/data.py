"""MNIST as four tensors, from a local folder of IDX files or a torchvision download.

The whole set is ~55 MB as uint8, so it lives in memory (on the GPU when training there)
and the training loop never touches Python per sample.
"""
from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
ENV_VAR = "CNN_DEMO_DATA"
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cnn_demo"


class DataError(RuntimeError):
    """MNIST could not be found, downloaded or read; the message says what to do."""


@dataclass
class MNIST:
    train_x: torch.Tensor  # uint8 (60000, 28, 28)
    train_y: torch.Tensor  # int64 (60000,)
    test_x: torch.Tensor  # uint8 (10000, 28, 28)
    test_y: torch.Tensor  # int64 (10000,)
    source: str

    def images(self, split: str, device="cpu") -> torch.Tensor:
        """float (N, 1, 28, 28) in [0, 1] on `device`."""
        x = self.train_x if split == "train" else self.test_x
        return x.to(device).unsqueeze(1).float().div_(255)

    def raw(self, split: str, device="cpu") -> torch.Tensor:
        """uint8 (N, 1, 28, 28) on `device`: a quarter of the float copy's memory; batches are
        converted with `to_float` as they are used."""
        return (self.train_x if split == "train" else self.test_x).to(device).unsqueeze(1)

    def labels(self, split: str, device="cpu") -> torch.Tensor:
        return (self.train_y if split == "train" else self.test_y).to(device)


def to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 pixels → float in [0, 1] (float input passes through)."""
    return x.float().div_(255) if x.dtype == torch.uint8 else x


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        for cand in (folder / name, folder / "MNIST" / "raw" / name, folder / "raw" / name):
            if cand.is_file():
                return cand
    return None


def read_idx(path: Path) -> np.ndarray:
    """Parse one IDX file (gzipped or not), checking its header against its size."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise DataError(f"{path} is not a valid gzip file ({e}).") from None
    if len(raw) < 8 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path} is not an unsigned-byte IDX file.")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    if len(raw) - offset != int(np.prod(dims)):
        raise DataError(f"{path} is truncated or corrupt: header says {dims}, "
                        f"file holds {len(raw) - offset} bytes of data.")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)


def read_folder(folder: str | os.PathLike) -> MNIST:
    """Read the four IDX files from `folder` (also looks in MNIST/raw and raw)."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DataError(f"MNIST folder {folder} does not exist.")
    paths = {k: _find(folder, v) for k, v in FILES.items()}
    missing = [FILES[k] for k, p in paths.items() if p is None]
    if missing:
        raise DataError(f"MNIST folder {folder} lacks {', '.join(missing)} (.gz or not).")
    arr = {k: read_idx(p) for k, p in paths.items()}
    for split in ("train", "test"):
        x, y = arr[f"{split}_images"], arr[f"{split}_labels"]
        if x.ndim != 3 or x.shape[1:] != (28, 28) or y.ndim != 1 or len(x) != len(y):
            raise DataError(f"MNIST {split} files in {folder} do not match: images {x.shape}, labels {y.shape}.")
    t = {k: torch.from_numpy(v.copy()) for k, v in arr.items()}
    return MNIST(t["train_images"], t["train_labels"].long(), t["test_images"], t["test_labels"].long(),
                 source=str(folder))


def download(root: Path = DEFAULT_CACHE) -> Path:
    """Fetch MNIST with torchvision into `root`; returns the folder holding the raw files."""
    try:
        from torchvision.datasets import MNIST as TVMNIST
        for train in (True, False):
            TVMNIST(str(root), train=train, download=True)
    except Exception as e:  # torchvision raises RuntimeError/URLError/OSError variously
        raise DataError(f"Could not download MNIST ({type(e).__name__}: {e}). Without internet, "
                        f"point --data-dir or ${ENV_VAR} at a folder holding the four MNIST IDX files.") from None
    return root / "MNIST" / "raw"


def load_mnist(data_dir: str | os.PathLike | None = None, allow_download: bool = True) -> MNIST:
    """The data for training and evaluation: `data_dir`, else $CNN_DEMO_DATA, else a cached
    or fresh torchvision download."""
    folder = data_dir or os.environ.get(ENV_VAR)
    if folder:
        return read_folder(folder)
    cached = DEFAULT_CACHE / "MNIST" / "raw"
    if _find(cached, FILES["test_labels"]) is not None:
        try:
            return read_folder(cached)
        except DataError:
            pass
    if not allow_download:
        raise DataError(f"No MNIST here: set ${ENV_VAR} or --data-dir to a folder with the four IDX files.")
    return read_folder(download())


@lru_cache(maxsize=2)
def cached(data_dir: str | None = None) -> MNIST:
    """`load_mnist`, read once per process: training, the random test digit, knock-out
    accuracies and insights all share the same tensors (~55 MB)."""
    return load_mnist(data_dir)


def local_folder() -> str | None:
    """The local MNIST folder the app may read without downloading, if there is one."""
    for folder in (os.environ.get(ENV_VAR), DEFAULT_CACHE / "MNIST" / "raw"):
        if folder and _find(Path(folder), FILES["test_images"]) and _find(Path(folder), FILES["test_labels"]):
            return str(folder)
    return None
