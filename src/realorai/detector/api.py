"""``Detector``: one object that takes a path or many and returns labelled, calibrated scores.

from realorai import Detector
det = Detector.default()            # the detector shipped inside the package
det.predict("photo.jpg")            # {"path", "p_ai", "verdict", "threshold", "error", ...}
det.predict(["a.jpg", "folder/"])   # one row per image found
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np

from realorai.checkpoint import load_checkpoint
from realorai.imaging import Source
from realorai.inference import expand_inputs, score_paths

DEFAULT_WEIGHTS = "detector-default.safetensors"


def default_weights() -> Path:
    """The shipped detector's checkpoint file, installed with the package."""
    path = Path(str(resources.files("realorai") / "weights" / DEFAULT_WEIGHTS))
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: the packaged default detector is missing (a broken install?); "
            "reinstall realorai or pass --model RUN_DIR"
        )
    return path


def verdict_of(p_ai: float | None, threshold: float, error: str = "") -> str:
    """'ai' / 'real' comparing the unrounded score; 'error' for unreadable files, 'none' for no score."""
    if error:
        return "error"
    if p_ai is None or not np.isfinite(p_ai):
        return "none"
    return "ai" if p_ai >= threshold else "real"


def error_row(path: str, reason: str, threshold: float) -> dict:
    """The row for an input that could not be scored."""
    row = {
        "path": path,
        "p_ai": None,
        "verdict": "error",
        "threshold": threshold,
        "low_confidence": False,
        "error": reason,
    }
    return {**row, "why": explain(row)}


UNCERTAIN_MARGIN = 0.1  # a P(AI) this close to the threshold is called uncertain in "why"


def explain(row: dict) -> str:
    """One plain sentence saying what the verdict rests on."""
    if row["error"] and row["p_ai"] is None:
        return f"Could not be read: {row['error']}."
    c = row.get("combined")
    if c and c["basis"].startswith("provenance"):
        strong = next((f for f in row.get("findings", []) if f["strength"] == "strong"), None)
        what = strong["what"] if strong else "verified provenance"
        return f"Decided by a verified content credential: {what}."
    if c and c["verdict"] == "conflict":
        return f"Conflicting evidence: {c['basis']}; treat with caution."
    if row["p_ai"] is None:
        return "No pixel score and no verified provenance: no verdict."
    p, t = row["p_ai"], row["threshold"]
    side = "above" if p >= t else "below"
    sentence = f"The pixel detector gives P(AI) {p:.2f}, {side} its threshold {t:.2f}"
    if abs(p - t) < UNCERTAIN_MARGIN:
        sentence += " (close to it: uncertain)"
    if row.get("low_confidence"):
        sentence += "; the image is small and was upsampled, so this is a weak hint"
    if c and "agrees" in c["basis"]:
        sentence += "; unsigned metadata agrees"
    elif c is not None:
        sentence += "; no verified provenance"
    return sentence + "."


BACKENDS = ("auto", "torch", "onnx")


def _onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class Detector:
    """A loaded model and its decision threshold; ``predict`` gives the rows every front end shows."""

    def __init__(self, model, meta: dict, source: str = "", backend: str = "torch") -> None:
        self.model, self.meta, self.source, self.backend = model, meta, source, backend
        self.threshold = float(meta.get("threshold", 0.5))
        self.name = meta.get("model", "")

    @classmethod
    def default(cls, device: str = "cpu") -> Detector:
        return cls.from_checkpoint(default_weights(), device)

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str = "cpu") -> Detector:
        model, meta = load_checkpoint(path, device)
        return cls(model, meta, str(path))

    @classmethod
    def from_onnx(cls, path: str | Path) -> Detector:
        """A file written by ``realorai export onnx``: runs on ONNX Runtime, without torch weights."""
        from realorai.detector.onnx import OnnxCropModel

        model = OnnxCropModel(path)
        c = model.contract
        meta = {"model": c["model"], "threshold": c["threshold"], **c.get("meta", {})}
        return cls(model, meta, str(path), backend="onnx")

    @classmethod
    def load(cls, path: str | Path | None, device: str = "cpu", backend: str = "auto") -> Detector:
        """``path`` (run folder, checkpoint or exported .onnx), or the shipped default when None,
        on ``backend``: torch, onnx (ONNX Runtime, CPU), or auto (onnx for a detector on the CPU)."""
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}: {' | '.join(BACKENDS)}")
        if path is not None and str(path).endswith(".onnx"):
            if backend == "torch":
                raise ValueError(f"{path}: an ONNX file runs on the onnx backend only")
            return cls.from_onnx(path)
        det = cls.default(device) if path is None else cls.from_checkpoint(path, device)
        return det.on_backend(backend, device)

    def on_backend(self, backend: str, device: str = "cpu") -> Detector:
        """This detector on ``backend``; the ONNX graph is exported in memory (under a second)."""
        if backend == "torch" or self.backend == "onnx":
            return self
        crops = self.model.data_config.resize == "crops"
        fp32 = getattr(self.model, "realorai_precision", "fp32") == "fp32"
        if backend == "auto":
            # On the CPU, ONNX Runtime scores the detector's crops about 2.3x faster than torch
            # eager (benchmarks/throughput.py); on a GPU, and for the report's models, torch.
            if not (crops and fp32 and str(device) == "cpu" and _onnxruntime_available()):
                return self
        elif not crops:
            raise ValueError(f"{self.name}: the onnx backend runs detectors (detector-*), not the report's models")
        elif str(device) != "cpu":
            raise ValueError("the onnx backend runs on the CPU; use --backend torch with a GPU")
        from realorai.detector.onnx import OnnxCropModel, export_bytes

        return Detector(OnnxCropModel(export_bytes(self.model, self.meta)), self.meta, self.source, "onnx")

    def score(self, paths: list[Source], batch_size: int = 16, show_progress: bool = False):
        """(P(AI) array, low-confidence flags, per-crop P(AI), {path: reason})."""
        return score_paths(self.model, paths, batch_size, show_progress, details=True)

    def rows(self, paths: list[Source], batch_size: int = 16, show_progress: bool = False) -> list[dict]:
        probs, low, crops, errors = self.score(paths, batch_size, show_progress)
        out = []
        for i, path in enumerate(paths):
            p = None if np.isnan(probs[i]) else float(probs[i])
            err = errors.get(path, "")
            out.append(
                {
                    "path": str(path),  # an upload's row carries its file name
                    "p_ai": p,
                    "verdict": verdict_of(p, self.threshold, err),
                    "threshold": self.threshold,
                    "low_confidence": bool(low[i]),
                    "error": err,
                }
            )
            out[-1]["why"] = explain(out[-1])
        return out

    def predict(self, inputs: str | Path | list, batch_size: int = 16) -> dict | list[dict]:
        """One row for one file path; a list of rows for a list, a folder or a glob."""
        single = isinstance(inputs, (str, Path)) and Path(inputs).is_file()
        files, missing = expand_inputs([str(i) for i in (inputs if isinstance(inputs, list) else [inputs])])
        rows = self.rows(files, batch_size)
        rows += [error_row(p, r, self.threshold) for p, r in missing.items()]
        return rows[0] if single else rows
