"""Where and at what precision torch runs: ``pick_device`` and ``autocast``."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from realorai.install import TRAIN


def pick_device(name: str = "auto"):
    """``auto`` (a CUDA GPU when there is one), ``cpu`` or ``cuda[:N]``, checked."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as e:
        raise ValueError(f"unknown device {name!r}: use auto, cpu or cuda[:N]") from e
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {name}: no CUDA GPU is available here (use --device auto or cpu)")
    return device


def _may_have_gpu() -> bool:
    """False when this machine certainly has no NVIDIA GPU (no driver device), without importing torch."""
    return any(Path(p).exists() for p in ("/dev/nvidia0", "/dev/nvidiactl", "/proc/driver/nvidia"))


def device_name(name: str = "auto") -> str:
    """``pick_device`` as a string. Scoring on the CPU needs no torch: "auto" is "cpu" without
    importing torch (a second of start-up) when torch is absent or no GPU driver is present."""
    if name == "cpu" or (name == "auto" and (importlib.util.find_spec("torch") is None or not _may_have_gpu())):
        return "cpu"
    if importlib.util.find_spec("torch") is None:
        raise ValueError(f"--device {name}: torch is not installed ({TRAIN})")
    return str(pick_device(name))


def autocast(device, precision: str):
    import torch

    if precision not in ("fp32", "bf16"):
        raise ValueError(f"unknown precision {precision!r} (fp32 | bf16)")
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")
