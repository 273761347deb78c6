"""Would MNIST redrawn with a sketchpad's pen teach the networks unseen writers better than
`--drawn`'s morphology does? Each training digit is thinned to its skeleton (Zhang & Suen
1984, at 4× resolution) and drawn again with a round pen of one width, so its strokes are
even along their length as a sketchpad's are (a pen on paper swells and thins; opening or
closing the ink, what `--drawn` does, keeps that). The redrawn digits then go through the
Draw tab's preprocessing like `--drawn`'s and replace them in the bundled recipe (issue 15's
lever: "training images re-rendered as uniform strokes").

    OMP_NUM_THREADS=1 python benchmarks/redrawn.py --data-dir ../shared/data/mnist --arch lenet5 [--seed 1]
"""
from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
import pen_digits  # noqa: E402
from cnn_demo import as_drawn  # noqa: E402
from cnn_demo.data import DEFAULT_CACHE, load_mnist  # noqa: E402
from cnn_demo.models import build  # noqa: E402

UP = 2  # thinning and redrawing happen at 56×56
PEN = 0.10  # the pen's width, a fraction of the 20 px box MNIST fits a digit in (the app's TARGET_WIDTH)


# P2 … P9 of Zhang & Suen: N, NE, E, SE, S, SW, W, NW, the bits of one code per pixel
_AT = [(-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1)]


def _code(x: torch.Tensor) -> torch.Tensor:
    """uint8 (N, H, W) of 0/1 → each pixel's neighbourhood as a number in 0 … 255."""
    p = F.pad(x, (1, 1, 1, 1))
    h, w = x.shape[-2:]
    code = torch.zeros_like(x)
    for i, (dy, dx) in enumerate(_AT):
        code |= p[:, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w] << i
    return code


def _deletable(first: bool) -> torch.Tensor:
    """For each of the 256 neighbourhoods, whether Zhang & Suen's sub-iteration removes the pixel."""
    out = torch.zeros(256, dtype=torch.bool)
    for code in range(256):
        n = [(code >> i) & 1 for i in range(8)]
        b = sum(n)
        a = sum(n[i] == 0 and n[(i + 1) % 8] == 1 for i in range(8))
        p2, p4, p6, p8 = n[0], n[2], n[4], n[6]
        c = (p2 * p4 * p6 == 0 and p4 * p6 * p8 == 0) if first else (p2 * p4 * p8 == 0 and p2 * p6 * p8 == 0)
        out[code] = 2 <= b <= 6 and a == 1 and c
    return out


_DELETABLE = (_deletable(True), _deletable(False))


def thin(x: torch.Tensor, max_iter: int = 60) -> torch.Tensor:
    """uint8 (N, H, W) of 0/1 → its one-pixel skeleton (Zhang & Suen's two sub-iterations, each
    a table lookup of every pixel's neighbourhood)."""
    x = x.clone()
    for _ in range(max_iter):
        changed = False
        for table in _DELETABLE:
            drop = (x > 0) & table[_code(x).long()]
            if drop.any():
                x[drop] = 0
                changed = True
        if not changed:
            break
    return x


def redraw(images: np.ndarray, chunk: int = 1000) -> np.ndarray:
    """uint8 (N, 28, 28) MNIST → uint8 (N, 28, 28), each digit's skeleton drawn with one round pen."""
    r = max(1, round(PEN * 20 * UP / 2))
    yy, xx = torch.meshgrid(torch.arange(-r, r + 1), torch.arange(-r, r + 1), indexing="ij")
    disk = ((yy ** 2 + xx ** 2) <= r * r + 0.5).float().view(1, 1, 2 * r + 1, 2 * r + 1)
    out = []
    for i in range(0, len(images), chunk):
        x = torch.from_numpy(images[i:i + chunk]).float().div(255).unsqueeze(1)
        big = F.interpolate(x, scale_factor=UP, mode="bilinear", align_corners=False)
        skel = thin((big[:, 0] > 0.4).to(torch.uint8)).float().unsqueeze(1)
        ink = (F.conv2d(skel, disk, padding=r) > 0).float()
        out.append((F.avg_pool2d(ink, UP)[:, 0] * 255).round().to(torch.uint8).numpy())
    return np.concatenate(out)


def redrawn_copy(images: torch.Tensor) -> torch.Tensor:
    """What `as_drawn.cached` gives, from the redrawn digits (kept on disk like it)."""
    arr = images.cpu().numpy()
    path = DEFAULT_CACHE / f"redrawn-v1-{hashlib.sha256(arr.tobytes()).hexdigest()[:16]}.npy"
    if path.exists():
        return torch.from_numpy(np.load(path, allow_pickle=False))
    t0 = time.perf_counter()
    out = as_drawn.as_drawn(redraw(arr))
    print(f"redrew {len(arr)} digits in {time.perf_counter() - t0:.0f} s", flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, out, allow_pickle=False)
    return torch.from_numpy(out)


def main(argv=None):
    p = pen_digits.experiment_args(__doc__)
    p.add_argument("--only-redraw", action="store_true", help="make the redrawn digits and a picture of some, no training")
    a = p.parse_args(argv)
    data = load_mnist(a.data_dir)
    if a.only_redraw:
        from PIL import Image
        x = data.train_x[:16]
        rows = [torch.cat(list(x), 1), torch.cat(list(as_drawn.cached(x)), 1), torch.cat(list(redrawn_copy(data.train_x)[:16]), 1)]
        Image.fromarray(torch.cat(rows, 0).numpy()).resize((16 * 28 * 3, 3 * 28 * 3), 0).save(ROOT / "runs" / "redrawn.png")
        return
    as_drawn.cached = lambda images, folder=None: redrawn_copy(images)  # train() takes its drawn share from here
    print(pen_digits.recipe_row(a.arch, a, lambda: build(a.arch), data, {"arch": f"{a.arch} redrawn", "seed": str(a.seed)}))


if __name__ == "__main__":
    main()
