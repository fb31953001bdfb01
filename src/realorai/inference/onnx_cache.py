"""The ONNX graph of a detector checkpoint, built once: shipped beside the default detector, or
exported on first use and cached by the checkpoint's sha256, so a load never exports again.

A cached or shipped graph is used only when the sha256 recorded in its contract is that of the
checkpoint, so a rebuilt checkpoint never runs a stale graph.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from realorai.atomic import write_bytes
from realorai.hashing import sha256_file
from realorai.install import TRAIN
from realorai.install import cache_dir as root_cache


def cache_dir() -> Path:
    """``install.cache_dir``: $REALORAI_CACHE (or the older $REALORAI_CACHE_DIR), else ~/.cache/realorai."""
    return root_cache()


def onnx_model_for(checkpoint: Path, shipped: Path | None = None):
    """An ONNX Runtime detector for ``checkpoint``: the shipped graph when it matches, else the
    cached one, else a fresh export (needs torch), cached for next time."""
    from realorai.detector.onnx import OnnxCropModel

    digest = sha256_file(checkpoint)
    cached = cache_dir() / "onnx" / f"{digest[:32]}.onnx"
    for candidate in (shipped, cached):
        if candidate is not None and candidate.is_file():
            try:
                model = OnnxCropModel(candidate)
            except Exception:  # a damaged cache file is rebuilt, never trusted
                continue
            if model.contract.get("source_sha256") == digest:
                return model
    graph = _export(checkpoint, digest)
    with contextlib.suppress(OSError):  # a read-only home: run from memory, export again next time
        write_bytes(cached, graph)
    return OnnxCropModel(graph)


def _export(checkpoint: Path, digest: str) -> bytes:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise ValueError(
            f"{checkpoint}: its ONNX graph is not cached yet and exporting it needs torch: "
            f"{TRAIN} (or run the file written by `realorai export onnx`)"
        ) from None
    from realorai.detector.onnx import export_bytes
    from realorai.models.checkpoint import load_checkpoint

    model, meta = load_checkpoint(checkpoint, "cpu")
    return export_bytes(model, meta, digest)
