"""How to install what a command needs, said one way everywhere a message names a fix; where
realorai keeps what it downloads or derives (``cache_dir``: one variable, documented).

realorai is installed from its clone (it is not on PyPI), so every hint names the clone's extra;
and a CPU-only machine that installs the training extra straight from PyPI gets torch with its
CUDA wheels (7 GB), so the hint says how to take the CPU wheel first.
"""

from __future__ import annotations

CPU_TORCH = "pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu"
TRAIN = (f"pip install -e '.[train]' in realorai's clone (on a machine without a GPU, first {CPU_TORCH}, "
         "else pip brings torch's CUDA wheels, about 7 GB)")  # fmt: skip


def cache_dir():
    """realorai's cache (exported ONNX graphs, CLIP weights, taef2): ``$REALORAI_CACHE``, else
    ``$REALORAI_CACHE_DIR`` (the older name, still honoured), else ``$XDG_CACHE_HOME/realorai``
    (``~/.cache/realorai``)."""
    import os
    from pathlib import Path

    base = os.environ.get("REALORAI_CACHE") or os.environ.get("REALORAI_CACHE_DIR")
    if base:
        return Path(base).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "realorai"
