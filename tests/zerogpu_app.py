"""`python tests/zerogpu_app.py`: the app started as a ZeroGPU Space starts it — `spaces` first,
in ZeroGPU mode (the environment names the device API: tests/fake_zerogpu.py) — then app.main().

On a machine without CUDA, the worker that `spaces` forks for a decorated function cannot start
CUDA: the task fails the way it fails on a Space when no GPU can be attached, which is the path
the tests want most. With `CNN_DEMO_TEST_GPU_STANDIN=1` the worker skips CUDA's start (and the
move of tensors to it, of which this app has none), so everything else of ZeroGPU — the schedule,
the fork, the records crossing back, the release, a stop, a visitor leaving — runs for real,
with the work itself on the worker's CPU.
"""
import os
import sys
from pathlib import Path

import spaces  # noqa: F401  (first, as in app.py)

if os.environ.get("CNN_DEMO_TEST_GPU_STANDIN") == "1":
    from spaces.zero import torch as zero_torch

    zero_torch.init = lambda nvidia_uuid: os.environ.__setitem__("CUDA_VISIBLE_DEVICES", nvidia_uuid)
    zero_torch.move = lambda callback=None: None

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import app  # noqa: E402

if __name__ == "__main__":
    app.main()
