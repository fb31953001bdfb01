"""``realorai predict`` / ``inspect``: P(AI), a verdict and (optionally) provenance per image.

One row per input, the JSON schema shared with every front end:
``{"path", "p_ai", "verdict", "threshold", "low_confidence", "error"}`` and, with evidence,
``"findings": [{"source", "what", "strength", "points_to", "value"}]`` and
``"combined": {"verdict", "basis", "p_ai", "pixel_verdict", "threshold"}``.
"verdict" is always the pixel detector's; "combined" applies the provenance rule. ``p_ai`` is
kept unrounded, and verdicts compare the unrounded score: only display rounds.
"""

from __future__ import annotations

from pathlib import Path

from realorai.detector.api import Detector, error_row
from realorai.inference import expand_inputs
from realorai.progress import progress_bar
from realorai.provenance import DEFAULT, combine, inspect_evidence
from realorai.provenance.findings import Finding
from realorai.train import pick_device


def predict(
    inputs: list[str],
    model_path: str | Path | None = None,
    batch_size: int = 32,
    device: str = "auto",
    show_progress: bool = True,
    evidence: bool = False,
    pixels_only: bool = False,
    c2pa_trust: str | None = DEFAULT,
    allow_network: bool = False,
) -> list[dict]:
    """Score every file found in ``inputs`` with ``model_path`` (the shipped detector when None);
    unreadable ones get an error row, never an exception."""
    files, missing = expand_inputs(inputs)
    detector = Detector.load(model_path, pick_device(device))
    threshold = detector.threshold
    rows = detector.rows(files, batch_size, show_progress)
    if evidence:
        with progress_bar("evidence", len(rows), show_progress) as advance:
            for row in rows:
                found = inspect_evidence(row["path"], trust=c2pa_trust, allow_network=allow_network)
                row["findings"] = found["findings"]
                row["error"] = row["error"] or found["error"]
                kept = [Finding(**f) for f in found["findings"]]
                row["combined"] = combine(kept, row["p_ai"], threshold, pixels_only)
                advance()
    rows += [error_row(item, reason, threshold) for item, reason in missing.items()]
    return rows
