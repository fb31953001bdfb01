"""Evidence records and the rule that combines them with the pixel detector.

Strength of a finding (documented in docs/PROVENANCE.md):
- strong:   decides the verdict on its own (a trusted C2PA claim, a Stable Diffusion watermark,
            generator parameters written by a generation tool);
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


def combine(findings: list[Finding], p_ai: float | None, threshold: float = 0.5, pixels_only: bool = False) -> dict:
    """The combined verdict.

    Rule: strong provenance decides when all strong findings agree; otherwise (no strong
    finding, strong findings that disagree, or ``pixels_only``) the pixel detector's P(AI)
    decides at its threshold; with neither, the verdict is "unknown". The pixel score is always
    returned beside the verdict, never folded into it.
    """
    strong = {f.points_to for f in findings if f.strength == "strong" and f.points_to}
    pixel = None if p_ai is None else ("ai" if p_ai >= threshold else "real")
    if not pixels_only and len(strong) == 1:
        verdict, basis = strong.pop(), "provenance (strong evidence)"
    elif pixel is not None:
        verdict = pixel
        basis = "pixels" + (" (strong provenance conflicts)" if not pixels_only and len(strong) > 1 else "")
    else:
        verdict = "unknown"
        basis = "no strong provenance and no pixel model" if not pixels_only else "no pixel model"
    return {"verdict": verdict, "basis": basis, "p_ai": p_ai, "pixel_verdict": pixel, "threshold": threshold}
