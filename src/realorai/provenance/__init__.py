"""Evidence beyond pixels: C2PA content credentials, invisible watermarks, generator metadata."""

from __future__ import annotations

import time
from dataclasses import dataclass

from realorai.imaging import ImageLoadError, Source, open_image, opened_and_decoded
from realorai.provenance.c2pa_evidence import inspect_c2pa
from realorai.provenance.findings import Finding, decide
from realorai.provenance.metadata import inspect_metadata
from realorai.provenance.trust import TrustAnchors, TrustSpec, resolve
from realorai.provenance.watermark import inspect_watermark

__all__ = [
    "Evidence", "Finding", "TrustAnchors", "decide", "evidence_summary", "inspect_evidence", "pixel_findings",
    "resolve",
]  # fmt: skip


@dataclass(frozen=True)
class Evidence:
    """All provenance findings for one file; ``decode_seconds`` is the part of ``seconds`` spent
    decoding pixels for the watermark check."""

    path: str
    findings: list[Finding]
    error: str
    seconds: float
    decode_seconds: float


def pixel_findings(img, rgb) -> tuple[list[Finding], str]:
    """(metadata and watermark findings, error) from an opened image and its decoded pixels:
    for callers that decoded it already (``inference.analyze`` reads one decode for all)."""
    try:
        return inspect_metadata(img) + inspect_watermark(rgb), ""
    except Exception as e:  # a hostile file (a zlib-bomb text chunk...) ends this file's check, never the run
        return [], f"cannot read metadata: {type(e).__name__}: {e}"


def inspect_evidence(
    path: Source, max_pixels: int | None = None, trust: TrustSpec = None, allow_network: bool = False
) -> Evidence:
    """C2PA, watermark and metadata findings for one file; never raises for a bad file.

    ``trust``: see :func:`realorai.provenance.trust.resolve` (None is the official list)."""
    t0 = time.perf_counter()
    findings: list[Finding] = []
    error = ""
    decode_seconds = 0.0
    try:
        with open_image(path, max_pixels) as img:
            findings += inspect_metadata(img)
        t_decode = time.perf_counter()
        with opened_and_decoded(path, max_pixels) as (_, rgb):
            decode_seconds = time.perf_counter() - t_decode
            findings += inspect_watermark(rgb)
    except ImageLoadError as e:
        error = e.reason
    except Exception as e:  # a hostile file (a zlib-bomb text chunk...) ends this file's check, never the run
        error = f"cannot read metadata: {type(e).__name__}: {e}"
    if not error:  # an unreadable image's error is reported once, not echoed by the C2PA parser
        findings += inspect_c2pa(path, trust, allow_network)
    return Evidence(str(path), findings, error, round(time.perf_counter() - t0, 4), round(decode_seconds, 4))


def evidence_summary(findings: list[Finding]) -> dict[str, bool]:
    """Booleans per kind of evidence, for manifests and the shortcut audit."""

    def has(source: str, points_to: str | None = None, strengths=("strong", "moderate", "weak")) -> bool:
        return any(
            f.source == source and f.strength in strengths and (points_to is None or f.points_to == points_to)
            for f in findings
        )

    return {
        "c2pa": any(f.source == "c2pa" for f in findings),
        "watermark": has("watermark", "ai"),
        "generator_metadata": has("metadata", "ai"),
        "camera_exif": has("metadata", "real"),
    }
