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
import re

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


# C0 and C1 controls (ESC, CSI...), DEL, and the bidirectional overrides that reorder text.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """Text safe to print and to store as UTF-8: control characters (terminal escapes) shown as
    ``\\x1b``-style escapes, and bytes of a file name that are not UTF-8 (which Python holds as
    surrogates) as ``\\xe9``; the raw name stays recoverable from ``raw_hex``."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return _CONTROL.sub(
        lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}", text
    )


def raw_hex(path: str) -> str:
    """The file name's raw bytes in hex when it is not valid UTF-8 (else ""): ``bytes.fromhex``
    gives back the name that ``printable`` had to escape."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").hex()
    return ""


FLAT_COLUMNS = (
    "path", "p_ai", "verdict", "threshold", "low_confidence", "error", "why",
    "combined_verdict", "combined_basis", "findings", "heatmap", "path_raw_hex",
)  # fmt: skip


def flat_row(row: dict) -> dict:
    """One table row (CSV, Parquet): the JSON row with nested fields as columns or JSON text,
    every text printable UTF-8 (``printable``), the raw bytes of a non-UTF-8 name in ``path_raw_hex``."""
    c = row.get("combined") or {}
    h = row.get("heatmap") or {}
    return {
        "path": printable(row["path"]),
        "p_ai": row["p_ai"],
        "verdict": row["verdict"],
        "threshold": row["threshold"],
        "low_confidence": bool(row.get("low_confidence")),
        "error": printable(row["error"]),
        "why": printable(row.get("why", "")),
        "combined_verdict": c.get("verdict", ""),
        "combined_basis": printable(c.get("basis", "")),
        "findings": json.dumps(row["findings"]) if "findings" in row else "",
        "heatmap": printable(h.get("png") or (f"not written: {h['error']}" if h.get("error") else "")),
        "path_raw_hex": raw_hex(row["path"]),
    }
