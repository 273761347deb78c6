"""Where this process computes: the one device decision of the app, its CLI and its runs.

On a ZeroGPU Space the `spaces` package makes `torch.cuda.is_available()` answer True in the
app's own process, where no CUDA exists: CUDA is real only inside `@spaces.GPU` functions,
which run in a worker it forks (and there it puts torch back as it was). So a device chosen
in the app's process by asking torch would be wrong there; `default_device` recognises the
stand-in by where it was defined and answers "cpu".
"""
from __future__ import annotations

import torch


def cuda_here() -> bool:
    """Whether this very process can run CUDA kernels."""
    available = torch.cuda.is_available
    if getattr(available, "__module__", "").startswith("spaces."):  # ZeroGPU's stand-in
        return False
    return available()


def default_device() -> str:
    return "cuda" if cuda_here() else "cpu"
