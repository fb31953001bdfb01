"""``realorai predict`` / ``inspect``: P(AI), a verdict and (optionally) provenance per image.

One row per input, the JSON schema shared with every front end:
``{"path", "p_ai", "verdict", "threshold", "error"}`` and, with evidence,
``"findings": [{"source", "what", "strength", "points_to", "value"}]`` and
``"combined": {"verdict", "basis", "p_ai", "pixel_verdict", "threshold"}``.
"verdict" is always the pixel detector's; "combined" applies the provenance rule.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from realorai.checkpoint import load_checkpoint
from realorai.inference import expand_inputs, score_paths
from realorai.progress import progress_bar
from realorai.provenance import combine, inspect_evidence
from realorai.provenance.findings import Finding
from realorai.train import pick_device


def predict(
    inputs: list[str],
    model_path: str | Path | None,
    batch_size: int = 32,
    device: str = "auto",
    show_progress: bool = True,
    evidence: bool = False,
    pixels_only: bool = False,
) -> list[dict]:
    """Score every file found in ``inputs``; unreadable ones get an error row, never an exception."""
    if model_path is None and not evidence:
        raise ValueError("no model given: pass --model RUN_DIR")
    files, missing = expand_inputs(inputs)
    threshold = 0.5
    if model_path is not None:
        model, meta = load_checkpoint(model_path, pick_device(device))
        threshold = float(meta.get("threshold", 0.5))
        probs, errors = score_paths(model, files, batch_size, show_progress)
    else:
        probs, errors = np.full(len(files), np.nan), {}
    rows = []
    for path, p in zip(files, probs, strict=True):
        p_ai = None if np.isnan(p) else round(float(p), 6)
        verdict = "error" if path in errors else ("none" if p_ai is None else ("ai" if p_ai >= threshold else "real"))
        rows.append(
            {"path": path, "p_ai": p_ai, "verdict": verdict, "threshold": threshold, "error": errors.get(path, "")}
        )
    if evidence:
        with progress_bar("evidence", len(rows), show_progress) as advance:
            for row in rows:
                found = inspect_evidence(row["path"])
                row["findings"] = found["findings"]
                row["error"] = row["error"] or found["error"]
                kept = [Finding(**f) for f in found["findings"]]
                row["combined"] = combine(kept, row["p_ai"], threshold, pixels_only)
                advance()
    rows += [
        {"path": item, "p_ai": None, "verdict": "error", "threshold": threshold, "error": reason}
        for item, reason in missing.items()
    ]
    return rows
