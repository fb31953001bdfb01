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
LIKELY = {"likely_ai": "ai", "likely_real": "real"}


def decide(findings: list[Finding] | None, tier: str | None) -> dict:
    """The one verdict of an image from its provenance and its pixel tier: {"verdict", "basis", "note"}.

    Rule (docs/PROVENANCE.md): verified provenance (a trusted, intact C2PA claim) decides when it
    agrees with itself: verdict "ai" or "real", basis "provenance". Otherwise the pixel tier is
    the verdict ("likely_ai", "inconclusive", "likely_real"; basis "pixels"), except that a strong
    unsigned claim (generation metadata, a Stable Diffusion watermark) that contradicts a
    "likely" tier makes it "inconclusive": a claim anyone can add never decides, and never lets
    the pixels overstate either. No pixel score and no verified provenance: "inconclusive",
    basis "none". ``findings`` None: provenance was not read (``--pixels-only``).
    """
    findings = findings or []
    verified = {f.points_to for f in findings if is_verified(f) and f.points_to}
    if len(verified) == 1:
        return {"verdict": verified.pop(), "basis": "provenance", "note": ""}
    note = "verified content credentials contradict each other" if len(verified) > 1 else ""
    if tier is None:
        return {"verdict": "inconclusive", "basis": "none", "note": note}
    unsigned = [f for f in findings if f.strength == "strong" and not is_verified(f) and f.points_to]
    against = [f for f in unsigned if tier in LIKELY and f.points_to != LIKELY[tier]]
    if against:
        what = ", ".join(sorted({FORGEABLE.get(f.source, f.source) for f in against}))
        claim = "AI" if against[0].points_to == "ai" else "real"
        pixels = tier.replace("_", " ").replace(" ai", " AI")
        conflict = f"{what} claims {claim} but the pixels say {pixels} ({what} can be added to any image)"
        return {"verdict": "inconclusive", "basis": "pixels", "note": "; ".join(filter(None, [conflict, note]))}
    if unsigned:
        what = ", ".join(sorted({FORGEABLE.get(f.source, f.source) for f in unsigned}))
        claim = "AI" if unsigned[0].points_to == "ai" else "real"
        agrees = tier in LIKELY and LIKELY[tier] == unsigned[0].points_to
        said = f"{what} {'agrees' if agrees else f'claims {claim}'} (unsigned: could be forged)"
        note = "; ".join(filter(None, [said, note]))
    return {"verdict": tier, "basis": "pixels", "note": note}
