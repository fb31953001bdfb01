"""The one result row that every front end shows (command line, HTTP API, page, batch files).

``{"path", "p_ai", "verdict", "threshold", "low_confidence", "error", "why"}`` and, with evidence,
``"findings": [{"source", "what", "strength", "points_to", "value"}]`` and
``"combined": {"verdict", "basis", "p_ai", "pixel_verdict", "threshold"}``; with heatmaps,
``"heatmap": {"boxes", "p_ai", "png"}`` (``png``: a file path, or a data URI from the API).
"verdict" is always the pixel detector's; "combined" applies the provenance rule; "why" says in
one plain sentence what decided. ``p_ai`` is kept unrounded, and verdicts compare the unrounded
score: only display rounds. ``flat_row`` is its one table form (CSV, Parquet).
"""

from __future__ import annotations

import json
import math

UNCERTAIN_MARGIN = 0.1  # a P(AI) this close to the threshold is called uncertain in "why"


def verdict_of(p_ai: float | None, threshold: float, error: str = "") -> str:
    """'ai' / 'real' comparing the unrounded score; 'error' for unreadable files, 'none' for no score."""
    if error:
        return "error"
    if p_ai is None or not math.isfinite(p_ai):
        return "none"
    return "ai" if p_ai >= threshold else "real"


def pixel_row(path: str, p_ai: float | None, threshold: float, low_confidence: bool = False, error: str = "") -> dict:
    """The row of one scored (or unreadable) image, its "why" included."""
    row = {
        "path": path,
        "p_ai": p_ai,
        "verdict": verdict_of(p_ai, threshold, error),
        "threshold": threshold,
        "low_confidence": bool(low_confidence),
        "error": error,
    }
    return {**row, "why": explain(row)}


def error_row(path: str, reason: str, threshold: float) -> dict:
    """The row for an input that could not be scored."""
    return pixel_row(path, None, threshold, False, reason)


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


FLAT_COLUMNS = (
    "path", "p_ai", "verdict", "threshold", "low_confidence", "error", "why",
    "combined_verdict", "combined_basis", "findings", "heatmap",
)  # fmt: skip


def flat_row(row: dict) -> dict:
    """One table row (CSV, Parquet): the JSON row with nested fields as columns or JSON text."""
    c = row.get("combined") or {}
    h = row.get("heatmap") or {}
    return {
        "path": row["path"],
        "p_ai": row["p_ai"],
        "verdict": row["verdict"],
        "threshold": row["threshold"],
        "low_confidence": bool(row.get("low_confidence")),
        "error": row["error"],
        "why": row.get("why", ""),
        "combined_verdict": c.get("verdict", ""),
        "combined_basis": c.get("basis", ""),
        "findings": json.dumps(row["findings"]) if "findings" in row else "",
        "heatmap": h.get("png", ""),
    }
