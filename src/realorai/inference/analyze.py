"""``realorai predict`` / ``inspect`` and the API: the pixel verdict, then (optionally) provenance
and heatmaps, as rows of ``inference.rows``."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from realorai.atomic import atomic_path
from realorai.imaging import ImageLoadError, Source, load_image
from realorai.inference.detector import Detector
from realorai.inference.inputs import expand_inputs
from realorai.inference.rows import error_row, explain
from realorai.progress import progress_bar
from realorai.provenance import TrustSpec, combine, inspect_evidence


def heatmap_for(detector: Detector, src: Source, row: dict, into: Path | None) -> dict | None:
    """The row's heatmap: region boxes, their P(AI), and the overlay (written under ``into``,
    or returned as a data URI when ``into`` is None)."""
    from realorai.detector.heatmap import data_uri, overlay, region_scores

    if row["p_ai"] is None or detector.kind != "detector":
        return None
    try:
        img = load_image(src)
    except ImageLoadError:
        return None
    boxes, probs = region_scores(detector.model, img)
    picture = overlay(img, boxes, probs, detector.threshold)
    if into is None:
        png = data_uri(picture)
    else:
        # Two photo.jpg in different folders must not overwrite each other's overlay.
        tag = hashlib.sha1(str(src).encode("utf-8", "surrogateescape")).hexdigest()[:8]
        png_path = into / f"{Path(str(src)).stem}-{tag}.heatmap.png"
        with atomic_path(png_path) as tmp:
            picture.save(tmp, format="PNG")
        png = str(png_path)
    return {"boxes": [list(b) for b in boxes], "p_ai": [float(p) for p in probs], "png": png}


def analyze(
    detector: Detector,
    sources: Sequence[Source],
    batch_size: int = 32,
    show_progress: bool = False,
    evidence: bool = False,
    pixels_only: bool = False,
    c2pa_trust: TrustSpec = None,
    allow_network: bool = False,
    heatmaps: Path | bool = False,
) -> list[dict]:
    """Rows for files or uploads already found; never raises for a bad image (it gets an error row).

    ``heatmaps``: a folder to write overlays to, True for data URIs in the rows, False for none.
    """
    rows = detector.rows(list(sources), batch_size, show_progress)
    if evidence:
        with progress_bar("evidence", len(rows), show_progress) as advance:
            for src, row in zip(sources, rows, strict=True):
                found = inspect_evidence(src, trust=c2pa_trust, allow_network=allow_network)
                row["findings"] = [f.to_dict() for f in found.findings]  # the output edge: plain data
                row["error"] = row["error"] or found.error
                row["combined"] = combine(found.findings, row["p_ai"], detector.threshold, pixels_only)
                advance()
    if heatmaps is not False:
        into = None if heatmaps is True else Path(heatmaps)
        with progress_bar("heatmaps", len(rows), show_progress) as advance:
            for src, row in zip(sources, rows, strict=True):
                row["heatmap"] = heatmap_for(detector, src, row, into)
                advance()
    if evidence:
        for row in rows:
            row["why"] = explain(row)  # provenance may change what decided
    return rows


def predict(
    inputs: list[str],
    model_path: str | Path | None = None,
    batch_size: int = 32,
    device: str = "auto",
    show_progress: bool = True,
    evidence: bool = False,
    pixels_only: bool = False,
    c2pa_trust: TrustSpec = None,
    allow_network: bool = False,
    heatmaps: Path | None = None,
    backend: str = "auto",
) -> list[dict]:
    """Score every file found in ``inputs`` with ``model_path`` (the shipped detector when None);
    unreadable ones get an error row, never an exception."""
    from realorai.device import device_name

    files, missing = expand_inputs(inputs)
    detector = Detector.load(model_path, device_name(device), backend)
    rows = analyze(
        detector,
        files,
        batch_size,
        show_progress,
        evidence,
        pixels_only,
        c2pa_trust,
        allow_network,
        heatmaps if heatmaps is not None else False,
    )
    rows += [error_row(item, reason, detector.threshold) for item, reason in missing.items()]
    return rows
