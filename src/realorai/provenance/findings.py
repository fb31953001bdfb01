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
    source: str  # c2pa | watermark | metadata | bank | input
    what: str  # one line a moderator can read
    strength: str  # see STRENGTHS
    points_to: str | None = None  # "ai" | "real" | None
    value: str | dict = ""  # the raw value (truncated), or an object where it is structured (a bank match, C2PA)

    def __post_init__(self) -> None:
        if self.strength not in STRENGTHS:
            raise ValueError(f"unknown strength {self.strength!r}")
        if isinstance(self.value, str) and len(self.value) > MAX_VALUE_CHARS:
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
        return _verified(verified.pop(), findings)
    note = "verified content credentials contradict each other" if len(verified) > 1 else ""
    matched = _bank_match(findings)
    if matched is not None:
        return matched
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


def _verified(label: str, findings: list[Finding]) -> dict:
    """A verified credential's verdict, weighed against the file's own unsigned claims.

    The C2PA hard binding covers every byte outside the manifest store, so a file's XMP and EXIF
    were there when it was signed. A signed *capture* whose own metadata declares AI generation
    (moderate or strong) is a contradiction inside what the signer vouched for, and the claim in
    the signer's interest is the one not to believe: inconclusive (basis provenance). A signed
    *AI* declaration is an admission against interest: it stands whatever the metadata says, and
    the note names any claim of the other side (docs/PROVENANCE.md)."""
    other = [f for f in findings if not is_verified(f) and f.source != "c2pa" and f.points_to
             and f.points_to != label and f.strength in ("strong", "moderate", "weak")]  # fmt: skip
    if not other:
        return {"verdict": label, "basis": "provenance", "note": ""}
    what = "; ".join(f.what for f in other[:2])
    if label == "real" and any(f.strength in ("strong", "moderate") for f in other):
        note = (f"the verified credential declares a capture, but the file it signed declares AI generation "
                f"({what}): the signed claims contradict each other")  # fmt: skip
        return {"verdict": "inconclusive", "basis": "provenance", "note": note}
    return {"verdict": label, "basis": "provenance", "note": f"the file's unsigned metadata says otherwise ({what})"}


def _bank_match(findings: list[Finding]) -> dict | None:
    """The verdict a bank match gives (``bank.match``): a copy of a picture banked with a verified
    credential takes its label; one a person confirmed, "likely" that label; both labels matched,
    inconclusive. Possible matches (weak) decide nothing. None: no match decides."""
    matched = [f for f in findings if f.source == "bank" and f.strength in ("strong", "moderate") and f.points_to]
    if not matched:
        return None
    labels = {f.points_to for f in matched}
    if len(labels) > 1:
        note = "the picture matches bank entries of both labels (a label conflict in the bank: revoke the wrong one)"
        return {"verdict": "inconclusive", "basis": "match", "note": note}
    label = labels.pop()
    strong = any(f.strength == "strong" for f in matched)
    return {"verdict": label if strong else f"likely_{label}", "basis": "match", "note": ""}
