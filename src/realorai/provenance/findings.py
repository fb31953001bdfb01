"""Evidence records and the rule that combines them with the pixel detector.

Strength of a finding (documented in docs/PROVENANCE.md):
- strong:   specific evidence (a trusted C2PA claim, a Stable Diffusion watermark, generator
            parameters written by a generation tool); only a trusted C2PA claim is verifiable
            and decides alone, the others can be forged and only raise a conflict;
- moderate: points one way but is easy to add (an untrusted C2PA claim of generation, an XMP
            DigitalSourceType, a generator's name in free text);
- weak:     barely informative (camera EXIF, an untrusted claim of capture: both easy to forge);
- invalid:  evidence that is present but broken or tampered: reported, never trusted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

STRENGTHS = ("strong", "moderate", "weak", "invalid", "none")
MAX_VALUE_CHARS = 300  # raw values are truncated to this many characters in reports


@dataclass(frozen=True)
class Finding:
    source: str  # c2pa | watermark | metadata
    what: str  # one line a moderator can read
    strength: str  # see STRENGTHS
    points_to: str | None = None  # "ai" | "real" | None
    value: str = ""  # raw value, truncated

    def __post_init__(self) -> None:
        if self.strength not in STRENGTHS:
            raise ValueError(f"unknown strength {self.strength!r}")
        if len(self.value) > MAX_VALUE_CHARS:
            object.__setattr__(self, "value", self.value[:MAX_VALUE_CHARS] + f"... ({len(self.value):,} chars)")

    def to_dict(self) -> dict:
        return asdict(self)


def is_verified(f: Finding) -> bool:
    """Verifiable evidence: an intact C2PA manifest from a signer on the trust list (only such
    C2PA findings are strong). Watermarks and metadata are claims anyone can add to any image."""
    return f.source == "c2pa" and f.strength == "strong"


FORGEABLE = {"metadata": "unsigned metadata", "watermark": "the Stable Diffusion watermark"}


def combine(findings: list[Finding], p_ai: float | None, threshold: float = 0.5, pixels_only: bool = False) -> dict:
    """The combined verdict.

    Rule: verified provenance (a trusted, intact C2PA claim) decides when it agrees with itself.
    Otherwise the pixel detector's P(AI) decides at its threshold, except that a strong unsigned
    claim (generation metadata, a watermark) that disagrees with the pixels gives the verdict
    "conflict", naming what could be forged: an unsigned claim never silently overrides the
    pixels. With no pixel score, strong unsigned claims that agree decide, and say so. The pixel
    score is always returned beside the verdict, never folded into it.
    """
    pixel = None if p_ai is None else ("ai" if p_ai >= threshold else "real")
    if pixels_only:
        return _verdict(pixel or "unknown", "pixels" if pixel else "no pixel model", p_ai, pixel, threshold)
    verified = {f.points_to for f in findings if is_verified(f) and f.points_to}
    if len(verified) == 1:
        return _verdict(verified.pop(), "provenance (strong evidence)", p_ai, pixel, threshold)
    note = " (verified provenance conflicts)" if len(verified) > 1 else ""
    unsigned = [f for f in findings if f.strength == "strong" and not is_verified(f) and f.points_to]
    if pixel is None:
        claims = {f.points_to for f in unsigned}
        if len(claims) == 1:
            what = ", ".join(sorted({FORGEABLE.get(f.source, f.source) for f in unsigned}))
            return _verdict(claims.pop(), f"unsigned provenance only ({what}; could be forged)", p_ai, pixel, threshold)
        return _verdict("unknown", "no verified provenance and no pixel model" + note, p_ai, pixel, threshold)
    against = [f for f in unsigned if f.points_to != pixel]
    if against:
        what = ", ".join(sorted({FORGEABLE.get(f.source, f.source) for f in against}))
        claim = against[0].points_to.upper() if against[0].points_to == "ai" else against[0].points_to
        basis = f"conflict: {what} claims {claim}, pixels say {pixel} ({what} can be added to any image)"
        return _verdict("conflict", basis + note, p_ai, pixel, threshold)
    basis = "pixels" + (" (unsigned provenance agrees)" if unsigned else "")
    return _verdict(pixel, basis + note, p_ai, pixel, threshold)


def _verdict(verdict: str, basis: str, p_ai, pixel, threshold) -> dict:
    return {"verdict": verdict, "basis": basis, "p_ai": p_ai, "pixel_verdict": pixel, "threshold": threshold}
