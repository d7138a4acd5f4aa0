"""Reproducibility and device selection, used by every lesson.

``seed_everything`` is the one seeding helper of the course; ``pick_device``
chooses CUDA, then Apple's MPS, then the CPU, and ``describe_runtime`` says
what a measurement ran on (lesson 01: latency depends on the machine).
"""
from __future__ import annotations

import os
import platform
import random

import numpy as np
import torch

from .checks import CourseError, check_int

_DEVICES = ("auto", "cpu", "cuda", "mps")


def seed_everything(seed: int = 0, deterministic: bool = True) -> int:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) so that a cell repeats exactly.

    With ``deterministic=True`` cuDNN is asked for deterministic kernels too.
    Returns the seed so a notebook can print what it used.
    """
    seed = check_int(seed, "seed", minimum=0)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    if deterministic:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    return seed


def pick_device(preferred: str | torch.device = "auto") -> torch.device:
    """The device to train on: ``"auto"`` tries CUDA, then MPS, then the CPU.

    Asking for a device that is not present raises ValueError saying which
    devices are available, rather than failing later inside a forward pass.
    """
    if isinstance(preferred, torch.device):
        preferred = str(preferred)
    if not isinstance(preferred, str) or preferred.split(":")[0] not in _DEVICES:
        raise CourseError(f"device must be one of {', '.join(_DEVICES)} (or 'cuda:N'), got {preferred!r}.")
    available = available_devices()
    if preferred == "auto":
        return torch.device(available[0])
    kind = preferred.split(":")[0]
    if kind not in available:
        raise CourseError(
            f"Device {preferred!r} is not available on this machine; available: {', '.join(available)}. "
            "Use device='auto' to pick the best one present."
        )
    return torch.device(preferred)


def available_devices() -> list[str]:
    """Device kinds present here, best first (the CPU is always last)."""
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    found.append("cpu")
    return found


def describe_runtime() -> dict[str, str | int]:
    """What a measurement ran on: torch version, device, CPU threads."""
    return {
        "torch": torch.__version__,
        "device": pick_device().type,
        "cpu": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
    }
