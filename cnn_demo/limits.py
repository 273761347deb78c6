"""The app's bounds, in one place: what one request may ask of the server.

Behind a public link anyone can send anything, and many learners share one process, so
every size, count and duration a request controls is bounded *before* the work or the
allocation it would cause. Each bound fits what the app shows (a 400×400 canvas, 512 px
playground images, networks under 1 MB) with room to spare, and every refusal is a
sentence that names the bound. A server owner can widen the run-time ones with the
environment variables named below.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager


def _env(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


class LimitError(ValueError):
    """A request beyond one of the app's bounds; the message names the bound."""


# ---- images ---------------------------------------------------------------------------
CANVAS_MAX_SIDE = 1024  # the Draw tab's canvas is 400×400; nothing the browser sends is larger
CANVAS_MAX_BYTES = 160 * 2**10  # a 400×400 canvas PNG is well under 100 KB; its base64 fits a JSON body
UPLOAD_MAX_SIDE = 4096  # an uploaded picture of a digit: a phone screenshot, a scan
UPLOAD_MAX_PIXELS = 12_000_000  # PNG, GIF, TIFF, ... are decoded whole (a 4K screenshot is 8.3 MP);
# Pillow's first reduction of an RGBA image copies it, so one decode peaks at ~8 bytes a pixel
JPEG_MAX_PIXELS = 50_000_000  # JPEG photos are decoded at 1/2–1/8 size (a 48 MP phone photo fits)
DECODE_SLOTS = 2  # large images decoded at once; the rest wait their turn
LARGE_DECODE = 1_000_000  # pixels from which a decode takes a slot

# ---- the convolution playground -------------------------------------------------------
PLAYGROUND_SIDE = 512  # images are reduced to this longer side (the tab shows 512 px)
MAX_KERNEL = 11
MAX_KERNELS = 16
MAX_PADDING = 16
MAX_OUTPUT_VALUES = 262_144  # /convolve answers with at most this many numbers (one 512×512 map, ~3 MB of JSON:
# building 11 MB of JSON held the server's one GIL for 2.6 s)

# ---- requests -------------------------------------------------------------------------
MAX_JSON_BODY = 256 * 2**10  # the largest honest bodies: a bank of 16 kernels (~60 KB), a canvas PNG in base64
UPLOAD_CACHE_BUDGET = _env("CNN_DEMO_UPLOAD_BUDGET_MB", 512) * 2**20  # Gradio's upload folder
UPLOAD_MAX_AGE = 3600  # seconds an uploaded file is kept
SESSIONS = _env("CNN_DEMO_SESSIONS", 1000)  # browser and API sessions kept (least recently used go first)
QUEUE_SIZE = _env("CNN_DEMO_QUEUE_SIZE", 512)  # events waiting in Gradio's queue at once, every visitor's together
# (a class of 30, each with a stroke, an explanation and an example in flight, is under 100); given
# explicitly, since on a ZeroGPU Space Gradio would otherwise hold 1 and refuse the rest
WORK_AT_ONCE = 4  # events of one kind (a tab's action) computed at once; strokes and runs are not limited
MAX_TEXT = 200  # characters of a name, repo id or revision the app reads

# ---- checkpoints and the Hub ----------------------------------------------------------
MAX_WEIGHTS_BYTES = 16 * 2**20  # these networks are under 1 MB (LeNet-5 in float64: 0.5 MB)
MAX_CONFIG_BYTES = 256 * 2**10
MAX_INSIGHTS_BYTES = 8 * 2**20  # the bundled ones are ~2.4 MB
MAX_WEIGHT_VALUE = 1e4  # trained weights of these networks stay within ±10
HUB_CACHE_BUDGET = _env("CNN_DEMO_HUB_CACHE_MB", 256) * 2**20
MAX_HUB_CHECKPOINTS = 8  # Hub checkpoints kept loaded at once (least recently used go first)
MAX_SAVED_CHECKPOINTS = _env("CNN_DEMO_MAX_SAVED", 64)  # checkpoints trained in the app, kept on disk
SAVED_BUDGET = _env("CNN_DEMO_SAVED_MB", 512) * 2**20

# ---- training in the app --------------------------------------------------------------
MAX_EPOCHS = 50
MIN_BATCH, MAX_BATCH = 16, 1024
MIN_TRAIN_SIZE = 100
MAX_STEPS = 20_000  # 20 epochs of all 60,000 images at batch 128 is 9,380
MAX_TRAIN_SECONDS = _env("CNN_DEMO_MAX_TRAIN_SECONDS", 600)
MAX_WAITING_RUNS = 3  # runs waiting for the one training slot
MAX_LOSS_POINTS = 2000  # loss points a run keeps for its curve (older ones thinned)
STEP_EVENTS_PER_SECOND = 10  # how often a run reports its steps


def megabytes(n: int) -> str:
    return f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n / 2**10:.0f} KB"


def check_image_size(w: int, h: int, fmt: str | None, what: str = "The image") -> None:
    """Refuse an image by its header's size, before any pixel is decoded."""
    if w < 1 or h < 1:
        raise LimitError(f"{what} is empty (0 pixels).")
    if fmt == "JPEG":
        if w * h > JPEG_MAX_PIXELS:
            raise LimitError(f"{what} is {w}×{h} pixels; JPEG photos may have at most "
                             f"{JPEG_MAX_PIXELS / 1e6:.0f} megapixels: send a smaller picture of the digit.")
        return
    if max(w, h) > UPLOAD_MAX_SIDE or w * h > UPLOAD_MAX_PIXELS:
        raise LimitError(f"{what} is {w}×{h} pixels; the app reads images up to {UPLOAD_MAX_SIDE} pixels a side "
                         f"and {UPLOAD_MAX_PIXELS / 1e6:.0f} megapixels (JPEG photos up to "
                         f"{JPEG_MAX_PIXELS / 1e6:.0f} megapixels): send a smaller picture.")


_decode_slots = threading.BoundedSemaphore(DECODE_SLOTS)


@contextmanager
def decode_slot(pixels: int):
    """Large decodes take turns (at most DECODE_SLOTS at once), so that many of them sent
    together cost the memory of two; small ones, like the canvas, never wait."""
    if pixels < LARGE_DECODE:
        yield
        return
    with _decode_slots:
        yield


def training_steps(epochs: int, batch_size: int, train_size: int, available: int = 60_000) -> int:
    """A run's optimizer steps: every epoch ends with a last, smaller batch."""
    return epochs * -(-(train_size or available) // batch_size)


def check_training(epochs: int, batch_size: int, train_size: int, available: int = 60_000) -> None:
    """A training run the app will host: its size bounded for the UI and the API alike."""
    if not 1 <= epochs <= MAX_EPOCHS:
        raise LimitError(f"Epochs must be between 1 and {MAX_EPOCHS}, not {epochs}.")
    if not MIN_BATCH <= batch_size <= MAX_BATCH:
        raise LimitError(f"Batch size must be between {MIN_BATCH} and {MAX_BATCH}, not {batch_size}.")
    if train_size and not MIN_TRAIN_SIZE <= train_size <= available:
        raise LimitError(f"Training images must be between {MIN_TRAIN_SIZE:,} and {available:,} "
                         f"(0 for all), not {train_size:,}.")
    steps = training_steps(epochs, batch_size, train_size, available)
    if steps > MAX_STEPS:
        raise LimitError(f"That run would take {steps:,} steps; the app runs at most {MAX_STEPS:,} "
                         f"(epochs × images ÷ batch size): use fewer epochs or images, or a larger batch.")
