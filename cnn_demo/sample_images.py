"""The playground's example inputs: three CC0/public-domain photos (see
examples/images/SOURCES.md), a road scene drawn by code, tiny squares images for the
step-by-step view, and an MNIST digit. All as float32 arrays in [0, 1]: (H, W) or (3, H, W)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1] / "examples"
WORK_SIDE = 512  # larger images are downscaled to this longer side; the tab says so


def squares(n: int) -> np.ndarray:
    """n×n, dark, with a bright 2×2 (6×6) or 3×3 (8×8) square in the top-left and bottom-right corners."""
    a = np.zeros((n, n), np.float32)
    s = 2 if n <= 6 else 3
    a[:s, :s] = 1
    a[-s:, -s:] = 1
    return a


def road_scene(h: int = 288, w: int = 384) -> np.ndarray:
    """A simple road in perspective: sky, grass, asphalt, lane markings, a car and a sign."""
    img = Image.new("RGB", (w, h), (135, 190, 235))
    d = ImageDraw.Draw(img)
    horizon = int(h * 0.42)
    d.rectangle([0, horizon, w, h], fill=(92, 150, 70))
    d.polygon([(w * 0.47, horizon), (w * 0.53, horizon), (w * 0.98, h), (w * 0.02, h)], fill=(70, 70, 74))
    for i in range(6):  # dashed centre line, shrinking with distance
        t0, t1 = (i / 6) ** 1.6, ((i + 0.5) / 6) ** 1.6
        y0, y1 = horizon + (h - horizon) * t0, horizon + (h - horizon) * t1
        hw0, hw1 = 1 + 5 * t0, 1 + 5 * t1
        d.polygon([(w / 2 - hw0, y0), (w / 2 + hw0, y0), (w / 2 + hw1, y1), (w / 2 - hw1, y1)], fill=(240, 240, 235))
    d.line([(w * 0.47, horizon), (w * 0.04, h)], fill=(235, 235, 230), width=3)
    d.line([(w * 0.53, horizon), (w * 0.96, h)], fill=(235, 235, 230), width=3)
    cx, cy = int(w * 0.36), int(h * 0.74)  # a red car seen from behind
    d.rounded_rectangle([cx - 42, cy - 30, cx + 42, cy + 18], 8, fill=(190, 30, 35))
    d.rectangle([cx - 30, cy - 24, cx + 30, cy - 8], fill=(60, 80, 100))
    d.rectangle([cx - 40, cy + 14, cx - 26, cy + 26], fill=(20, 20, 20))
    d.rectangle([cx + 26, cy + 14, cx + 40, cy + 26], fill=(20, 20, 20))
    d.rectangle([cx - 38, cy - 2, cx - 28, cy + 4], fill=(255, 210, 60))
    d.rectangle([cx + 28, cy - 2, cx + 38, cy + 4], fill=(255, 210, 60))
    sx = int(w * 0.82)  # a sign post
    d.rectangle([sx - 2, horizon - 10, sx + 2, horizon + 60], fill=(90, 90, 90))
    d.ellipse([sx - 16, horizon - 40, sx + 16, horizon - 8], fill=(250, 250, 250), outline=(200, 20, 20), width=5)
    d.rectangle([0, horizon - 30, w * 0.2, horizon], fill=(150, 150, 160))  # buildings
    d.rectangle([w * 0.06, horizon - 55, w * 0.14, horizon], fill=(120, 120, 135))
    return np.asarray(img, np.float32).transpose(2, 0, 1) / 255


def to_array(img: Image.Image, max_side: int = WORK_SIDE) -> tuple[np.ndarray, bool]:
    """PIL image → float (H, W) or (3, H, W) in [0, 1], downscaled to `max_side`; and whether it was."""
    shrunk = max(img.size) > max_side
    if shrunk:
        img = img.copy()
        img.thumbnail((max_side, max_side), Image.Resampling.BOX)
    if img.mode in ("RGB", "RGBA", "P", "CMYK", "YCbCr", "LAB", "HSV", "PA"):
        rgb = np.asarray(img.convert("RGB"), np.float32) / 255
        if np.allclose(rgb[..., 0], rgb[..., 1]) and np.allclose(rgb[..., 1], rgb[..., 2]):
            return rgb[..., 0].copy(), shrunk
        return rgb.transpose(2, 0, 1).copy(), shrunk
    if img.mode.startswith("I") or img.mode == "F":
        a = np.asarray(img, np.float32)
        return np.clip(a / (65535.0 if a.max(initial=0) > 255 else 255.0), 0, 1), shrunk
    return np.asarray(img.convert("L"), np.float32) / 255, shrunk


@lru_cache(maxsize=None)
def examples() -> dict[str, np.ndarray]:
    out = {}
    for name, file in [("Photo: cameraman (grayscale)", "camera.png"), ("Photo: rocket on its pad (RGB)", "rocket.jpg"),
                       ("Photo: coffee cup (RGB)", "coffee.jpg")]:
        path = ROOT / "images" / file
        if path.is_file():
            out[name] = to_array(Image.open(path))[0]
    out["Road scene (RGB, drawn by code)"] = road_scene()
    out["Tiny 6×6 squares"] = squares(6)
    out["Tiny 8×8 squares"] = squares(8)
    digits = sorted((ROOT / "digits").glob("*.png"))
    if digits:
        d = Image.open(digits[0]).convert("L").resize((28, 28), Image.Resampling.BOX)
        out["MNIST digit 28×28"] = 1 - np.asarray(d, np.float32) / 255
    return out
