"""MNIST as the Draw tab would see it: every digit sent through the app's own preprocessing
(`preprocess.preprocess`: stroke width brought to the canvas's, refitted into 20×20, centred
by mass). A sketchpad's strokes all come out at one width; MNIST's pens range from hairline
to marker. Training on a mix of both teaches the network the input it will really get
without forgetting MNIST's own digits.

The 70,000 digits take about a minute per CPU core; the result is kept on disk next to the
MNIST download, keyed by the images and the preprocessing's version.
"""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch

VERSION = 1  # bump when preprocess.py changes what it makes of a digit


def one(img: np.ndarray) -> np.ndarray:
    """One MNIST digit (uint8 28×28, white ink on black) → uint8 28×28 as the app preprocesses."""
    from .preprocess import InputError, preprocess
    try:
        out = preprocess(img, paper="dark").image
    except InputError:  # MNIST has no blank digits, but a caller's data may
        return img
    return np.round(out * 255).astype(np.uint8)


def _chunk(images: np.ndarray) -> np.ndarray:
    torch.set_num_threads(1)
    return np.stack([one(im) for im in images])


def as_drawn(images: np.ndarray, workers: int | None = None) -> np.ndarray:
    """uint8 (N, 28, 28) → uint8 (N, 28, 28), in `workers` processes (default: every core)."""
    images = np.ascontiguousarray(images, dtype=np.uint8)
    workers = max(1, min(workers or os.cpu_count() or 1, 32))
    if workers == 1 or len(images) < 256:
        return _chunk(images)
    parts = np.array_split(images, workers * 4)
    with ProcessPoolExecutor(workers) as pool:
        return np.concatenate(list(pool.map(_chunk, parts)))


def cached(images: torch.Tensor, folder: Path | None = None) -> torch.Tensor:
    """`as_drawn` of a uint8 (N, 28, 28) tensor, read from disk when made before."""
    from .data import DEFAULT_CACHE
    arr = images.cpu().numpy()
    key = hashlib.sha256(arr.tobytes()).hexdigest()[:16]
    path = (folder or DEFAULT_CACHE) / f"as-drawn-v{VERSION}-{key}.npy"
    try:
        out = np.load(path, allow_pickle=False)
        if out.shape == arr.shape and out.dtype == np.uint8:
            return torch.from_numpy(out)
    except (OSError, ValueError, EOFError):  # absent or damaged: made again
        pass
    out = as_drawn(arr)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            np.save(f, out, allow_pickle=False)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache only costs the minute again
    return torch.from_numpy(out)
