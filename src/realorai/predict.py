"""``realorai predict``: P(AI) and a verdict for files, folders and globs."""

from __future__ import annotations

from pathlib import Path

from realorai.checkpoint import load_checkpoint
from realorai.inference import expand_inputs, score_paths
from realorai.train import pick_device


def predict(
    inputs: list[str], model_path: str | Path, batch_size: int = 32, device: str = "auto", show_progress: bool = True
) -> list[dict]:
    """One row per input file: path, p_ai (None if unreadable), verdict, error."""
    model, meta = load_checkpoint(model_path, pick_device(device))
    threshold = float(meta.get("threshold", 0.5))
    files, missing = expand_inputs(inputs)
    probs, errors = score_paths(model, files, batch_size, show_progress)
    rows = []
    for path, p in zip(files, probs, strict=True):
        if path in errors:
            rows.append({"path": path, "p_ai": None, "verdict": "error", "threshold": threshold, "error": errors[path]})
        else:
            rows.append(
                {
                    "path": path,
                    "p_ai": round(float(p), 6),
                    "verdict": "ai" if p >= threshold else "real",
                    "threshold": threshold,
                    "error": "",
                }
            )
    rows += [
        {"path": item, "p_ai": None, "verdict": "error", "threshold": threshold, "error": reason}
        for item, reason in missing.items()
    ]
    return rows
