"""The one result row that every front end shows (command line, batch files, HTTP API, page).

Schema version 2, every key in every row (an unreadable file's row included):

=================  =========================================================================
``schema_version`` 3 (3: ``findings[].value`` is an object where structured; 2 held it as JSON text)
``path``           the file (or upload name) as given
``verdict``        ``ai`` / ``real`` (verified provenance decided), ``likely_ai`` /
                   ``likely_real`` / ``inconclusive`` (the pixel tier decided, or nothing
                   could), ``error`` (unreadable)
``basis``          ``provenance`` / ``match`` / ``pixels`` / ``none``: what decided the verdict
                   (``match``: a copy of a picture in the bank, ``--bank``)
``tier``           the pixel score's own tier (``likely_ai``, ``inconclusive``,
                   ``likely_real``; null without a score), shown even when provenance decides
``p_ai``           the pixel detector's P(AI), calibrated on sources it never saw (null
                   without a score); unrounded: only display rounds
``likely_ai_from`` P(AI) at or above which the tier is ``likely_ai`` (null: that tier is empty)
``likely_real_below``  P(AI) below which the tier is ``likely_real`` (null: empty)
``low_confidence`` the image is smaller than the detector's crop and was upsampled
``findings``       provenance findings ``[{source, what, strength, points_to, value}]``; null
                   when provenance was not read (``--pixels-only``)
``why``            one sentence: what decided, and on what
``reliability``    one sentence: how right such pixel verdicts were on unseen sources ("" when
                   provenance decided or the file is unreadable)
``error``          why the file could not be read ("" when it was)
``heatmap``        ``{boxes, p_ai, png}`` with ``--heatmaps`` / ``heatmap=true``, else null
=================  =========================================================================

``flat_row`` is its one table form (CSV, Parquet): the same keys, findings and heatmap as text.
"""

from __future__ import annotations

import json
import math
import re

from realorai.provenance.findings import Finding, decide
from realorai.tiers import Tiers, tier_of

SCHEMA_VERSION = 3  # 3: findings[].value is an object where structured (2: JSON text)
VERDICTS = ("ai", "real", "likely_ai", "likely_real", "inconclusive", "error")
BASES = ("provenance", "match", "pixels", "none")
KEYS = (
    "schema_version", "path", "verdict", "basis", "tier", "p_ai", "likely_ai_from", "likely_real_below",
    "low_confidence", "findings", "why", "reliability", "error", "heatmap",
)  # fmt: skip


def _finite(p: float | None) -> float | None:
    return None if p is None or not math.isfinite(p) else float(p)


def make_row(
    path: str,
    p_ai: float | None,
    tiers: Tiers,
    low_confidence: bool = False,
    error: str = "",
    findings: list[dict] | None = None,
) -> dict:
    """The row of one image: its tier, the one verdict from provenance and tier, and the sentences."""
    p_ai = _finite(p_ai)
    tier = None if error and p_ai is None else tier_of(p_ai, tiers)
    row = {
        "schema_version": SCHEMA_VERSION,
        "path": path,
        "verdict": "error",
        "basis": "none",
        "tier": tier,
        "p_ai": p_ai,
        "likely_ai_from": tiers.likely_ai_from,
        "likely_real_below": tiers.likely_real_below,
        "low_confidence": bool(low_confidence),
        "findings": findings,
        "why": "",
        "reliability": "",
        "error": error,
        "heatmap": None,
    }
    return decided(row, tiers)


def decided(row: dict, tiers: Tiers) -> dict:
    """Fill verdict, basis, why and reliability from the row's findings and tier."""
    if row["error"] and row["p_ai"] is None:
        row.update(verdict="error", basis="none", why=f"Could not be read: {row['error']}.", reliability="")
        return row
    found = [Finding(**f) for f in row["findings"] or []]
    d = decide(found, row["tier"])
    row.update(verdict=d["verdict"], basis=d["basis"])
    row["why"] = explain(row, found, d["note"], tiers.scope)
    if tiers.suspended and row["basis"] == "pixels" and row["tier"] == "inconclusive":
        row["why"] = row["why"][:-1] + f"; {tiers.suspended}."
    row["reliability"] = "" if d["basis"] in ("provenance", "match") else reliability_sentence(row["tier"], tiers)
    return row


def error_row(path: str, reason: str, tiers: Tiers | None = None) -> dict:
    """The row for an input that could not be scored."""
    return make_row(path, None, tiers or Tiers(), False, reason)


def _p(v: float) -> str:
    return f"{v:.2f}" if 0.005 <= v <= 0.995 else f"{v:.3g}"


def explain(row: dict, found: list[Finding], note: str, scope: str = "unseen sources") -> str:
    """One plain sentence saying what the verdict rests on."""
    if row["basis"] == "provenance":
        strong = next((f for f in found if f.strength == "strong" and f.source == "c2pa"), None)
        credential = strong.what if strong else "verified provenance"
        if row["verdict"] == "inconclusive":
            return f"Inconclusive: {note}. The credential: {credential}."
        return f"Decided by a verified content credential: {credential}" + (f"; {note}." if note else ".")
    if row["basis"] == "match":
        best = next((f for f in found if f.source == "bank" and f.strength in ("strong", "moderate")), None)
        if row["verdict"] == "inconclusive":
            return f"Inconclusive: {note}."
        return f"Matched in the bank: {best.what if best else 'a banked picture'}."
    if row["p_ai"] is None:
        sentence = "No pixel score and no verified provenance: inconclusive"
        return sentence + (f" ({note})" if note else "") + "."
    p, tier = row["p_ai"], row["tier"]
    lo, hi = row["likely_real_below"], row["likely_ai_from"]
    if tier == "likely_ai":
        sentence = f"Pixels only: P(AI) {_p(p)}, at or above {_p(hi)}, where 'likely AI' starts"
    elif tier == "likely_real":
        sentence = f"Pixels only: P(AI) {_p(p)}, below {_p(lo)}, where 'likely real' ends"
    elif lo is None and hi is None:
        where = "unseen sources" if scope == "sources it never saw" else scope  # an adapted head: its examples
        sentence = f"Pixels only: P(AI) {_p(p)}; no score of this model was reliable on {where}"
    else:
        bounds = " and ".join(
            filter(None, [f"'likely real' below {_p(lo)}" if lo is not None else "",
                          f"'likely AI' from {_p(hi)}" if hi is not None else ""])
        )  # fmt: skip
        sentence = f"Pixels only: P(AI) {_p(p)}, outside the tiers ({bounds})"
    if row["verdict"] != tier:  # an unsigned claim contradicted the tier
        sentence = f"Inconclusive: {note}" if note else sentence
        note = ""
    if row.get("low_confidence"):
        sentence += "; the image is small and was upsampled, a weak hint"
    if note:
        sentence += f"; {note}"
    if row["findings"] is None:
        sentence += "; provenance not read (--pixels-only)"
    elif any(f.source == "bank" for f in found):
        sentence += "; " + next(f.what for f in found if f.source == "bank")
    elif any(f.source == "input" and f.what.startswith("a decoded image") for f in found):
        sentence += "; a decoded image (PIL or array) carries no metadata or content credential to read"
    elif not any(f.strength == "strong" for f in found):
        sentence += "; no verified provenance"
    return sentence + "."


def reliability_sentence(tier: str | None, tiers: Tiers) -> str:
    """How right such pixel verdicts were on sources the model never saw, in one sentence."""
    if tier is None:
        return ""
    if not tiers.available:
        return tiers.how[:1].upper() + tiers.how[1:] + "."
    on = f"On {tiers.scope}"
    if tier == "likely_ai":
        return (
            f"{on}, 'likely AI' was right {tiers.right_ai:.0%} of the time "
            f"({tiers.n_ai} images, AI and real weighed equally)."
        )
    if tier == "likely_real":
        return (
            f"{on}, 'likely real' was right {tiers.right_real:.0%} of the time "
            f"({tiers.n_real} images, AI and real weighed equally)."
        )
    if tiers.likely_ai_from is None and tiers.likely_real_below is None:
        best = max(v for v in (tiers.best_ai, tiers.best_real, 0.0) if v is not None)
        return (
            f"{on}, no range of this model's P(AI) was right {tiers.target:.0%} of the time "
            f"(its most confident scores were right at most {best:.0%}): pixels alone cannot tell."
        )
    return (
        f"{on}, scores in this range were not right {tiers.target:.0%} of the time; "
        f"{tiers.inconclusive:.0%} of those images fell here."
    )


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


FLAT_COLUMNS = (*KEYS, "path_raw_hex")


def flat_row(row: dict) -> dict:
    """One table row (CSV, Parquet): the JSON row with findings and heatmap as text, every text
    printable UTF-8 (``printable``), the raw bytes of a non-UTF-8 name in ``path_raw_hex``."""
    h = row.get("heatmap") or {}
    findings = row.get("findings")
    return {
        **{k: row.get(k) for k in KEYS},
        "path": printable(row["path"]),
        "low_confidence": bool(row.get("low_confidence")),
        "findings": "" if findings is None else json.dumps(findings),
        "why": printable(row.get("why", "")),
        "reliability": printable(row.get("reliability", "")),
        "error": printable(row["error"]),
        "heatmap": printable(h.get("png") or (f"not written: {h['error']}" if h.get("error") else "")),
        "path_raw_hex": raw_hex(row["path"]),
    }


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell):
    """A text cell that a spreadsheet would run as a formula (it starts with = + - @, a tab or
    a carriage return) gets a leading apostrophe, as OWASP advises for CSV files; other values
    are kept as they are."""
    if isinstance(cell, str) and cell.startswith(_FORMULA):
        return "'" + cell
    return cell
