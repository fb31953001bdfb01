"""Rows from all the evidence for files or uploads already found: the pixel score and tier, then
provenance (by default) and heatmaps, as rows of ``inference.rows``. ``detector`` is any loaded
``inference.detector.Detector`` (not imported here: ``Detector.predict`` calls this module)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from realorai.atomic import atomic_path
from realorai.bank.match import index_for, match_findings
from realorai.bank.pdq import hash_image
from realorai.bank.store import BankError
from realorai.imaging import ImageLoadError, Source
from realorai.inference.rows import decided
from realorai.progress import progress_bar
from realorai.provenance import Evidence, Finding, TrustSpec, inspect_evidence, pixel_findings
from realorai.provenance.c2pa_evidence import inspect_c2pa

# A PIL image or an array (``Upload.decoded``) came without its file: nothing to read provenance from.
DECODED = Finding("input", "a decoded image (PIL or array): no file came with it, so no metadata or content "
                  "credential could be read", "none")  # fmt: skip
# What a name's extension claims, by the format Pillow reads from the bytes.
EXTENSIONS = {"JPEG": {".jpg", ".jpeg", ".jpe", ".jfif"}, "MPO": {".jpg", ".jpeg", ".mpo"}, "PNG": {".png"},
              "WEBP": {".webp"}, "GIF": {".gif"}, "TIFF": {".tif", ".tiff"}, "BMP": {".bmp", ".dib"},
              "DIB": {".bmp", ".dib"}, "AVIF": {".avif"}, "HEIF": {".heic", ".heif"}, "ICO": {".ico"},
              "JPEG2000": {".jp2", ".j2k", ".jpx", ".jpf"}}  # fmt: skip
KNOWN = set().union(*EXTENSIONS.values())
MAX_NAME_BYTES = 96  # of a file's stem in its heatmap's name: names may be 255 bytes, and a suffix follows


def heatmap_name(src: Source) -> str:
    """``STEM-HASH.heatmap.png``, short enough for any file system: the stem is cut to
    MAX_NAME_BYTES (at a character boundary); the hash of the full path keeps names apart
    (two photo.jpg in different folders, or two long names sharing a start)."""
    raw = str(src).encode("utf-8", "surrogateescape")
    tag = hashlib.sha1(raw).hexdigest()[:8]
    stem = Path(str(src)).stem.encode("utf-8", "surrogateescape")[:MAX_NAME_BYTES]
    return f"{stem.decode('utf-8', 'ignore') or 'image'}-{tag}.heatmap.png"


def _heatmap(detector, src: Source, inputs, into: Path | None) -> dict:
    """The row's heatmap from its ``HeatInputs``: region boxes, their P(AI), and the overlay
    (written under ``into``, or a data URI when ``into`` is None). A file that cannot be written
    is this row's note (``heatmap.error``), never the end of the run."""
    from realorai.detector.heatmap import data_uri, overlay, tile_scores

    probs = tile_scores(detector.model, inputs)
    # White is P(AI) 0.5: on the out-of-source scale, "no information" (P(AI) is recalibrated there).
    # A file gets its legend inside the picture; the page (a data URI) draws its own, beside it.
    picture = overlay(inputs.display, inputs.tiles, probs, 0.5, inputs.size, legend=into is not None)
    out = {"boxes": [list(b) for b in inputs.tiles], "p_ai": [float(p) for p in probs], "png": ""}
    if into is None:
        return {**out, "png": data_uri(picture)}
    png_path = into / heatmap_name(src)
    try:
        with atomic_path(png_path) as tmp:
            picture.save(tmp, format="PNG")
    except OSError as e:
        return {**out, "error": f"cannot write {png_path}: {e.strerror or e}"}
    return {**out, "png": str(png_path)}


def named_as(name: str, fmt: str | None) -> list[Finding]:
    """A note when a file's extension claims another format than its bytes hold (a ".png" that
    is a JPEG): the name is a claim like any other, and tools that trust it misread the file."""
    suffix = Path(name).suffix.lower()
    if not fmt or suffix not in KNOWN or suffix in EXTENSIONS.get(fmt, {suffix}):
        return []
    return [Finding("input", f"named {suffix} but the content is {fmt}: the extension does not say what the file "
                    "is (it was renamed, or saved under the wrong name)", "none", None, fmt)]  # fmt: skip


def _inspector(detector, provenance: bool, heatmaps: bool):
    """What reads each image's one decode beside the detector's crops (None: nothing does)."""
    if detector.kind != "detector" or not (provenance or heatmaps):
        return None
    from realorai.detector.crops import plan_of
    from realorai.detector.heatmap import heat_inputs

    plan = plan_of(detector.model)

    def inspect(src: Source, opened, rgb) -> dict:
        extra: dict = {}
        if provenance:
            extra["findings"], extra["error"] = pixel_findings(opened, rgb)
            extra["findings"] += named_as(str(src), opened.format)
        if heatmaps:
            extra["heat"] = heat_inputs(plan, rgb)
        return extra

    return inspect


def analyze(
    detector,
    sources: Sequence[Source],
    batch_size: int = 32,
    show_progress: bool = False,
    provenance: bool = True,
    c2pa_trust: TrustSpec = None,
    allow_network: bool = False,
    heatmaps: Path | bool = False,
    bank=None,
) -> list[dict]:
    """Rows (``inference.rows``) for files or uploads already found; never raises for a bad image
    (it gets an error row).

    Each image is decoded once: the detector's crops, the metadata and watermark checks and the
    heatmap's crops all read the same pixels, inside the decode budget (``realorai.limits``).
    ``provenance`` False reads no provenance (``--pixels-only``: findings None). ``heatmaps``: a
    folder to write overlays to, True for data URIs in the rows, False for none. ``bank``: a bank
    (``bank.Bank`` or its file) whose pictures each image is matched against (with provenance).
    """
    sources = list(sources)
    inspect = _inspector(detector, provenance, heatmaps is not False)
    scores = detector.score(sources, batch_size, show_progress, inspect=inspect)
    rows = detector.to_rows(sources, scores)
    extras = scores.extras if inspect is not None else [None] * len(rows)
    if provenance:
        index = None if bank is None else _index(bank)
        with progress_bar("provenance", len(rows), show_progress) as advance:
            for src, row, extra in zip(sources, rows, extras, strict=True):
                found = _evidence(src, row, extra, c2pa_trust, allow_network)
                matches = _matches(index, src, row)
                decoded = [DECODED] if getattr(src, "decoded", False) else []
                row["findings"] = [
                    f.to_dict() for f in found.findings + matches + decoded
                ]  # the output edge: plain data
                row["error"] = row["error"] or found.error
                decided(row, detector.tiers)
                advance()
    if heatmaps is not False:
        into = None if heatmaps is True else Path(heatmaps)
        with progress_bar("heatmaps", len(rows), show_progress) as advance:
            for src, row, extra in zip(sources, rows, extras, strict=True):
                heat = (extra or {}).get("heat")
                row["heatmap"] = None if heat is None or row["p_ai"] is None else _heatmap(detector, src, heat, into)
                advance()
    return rows


def _evidence(src: Source, row: dict, extra: dict | None, trust: TrustSpec, allow_network: bool) -> Evidence:
    """Provenance of one image: from its shared decode when there was one, else on its own."""
    if extra is None:  # the report's classifiers, or an image that could not be decoded
        if row["error"] and row["p_ai"] is None:
            return Evidence(str(src), [], "", 0.0, 0.0)  # unreadable: its error is reported once
        return inspect_evidence(src, trust=trust, allow_network=allow_network)
    findings = list(extra["findings"])
    if not extra["error"]:
        findings += inspect_c2pa(src, trust, allow_network)
    return Evidence(str(src), findings, extra["error"], 0.0, 0.0)


def _index(bank):
    """The bank's index; a bank that is gone or unreadable is a ``BankError`` naming it (the
    caller decides: the CLI stops with it, the server answers error rows), never a bare traceback."""
    try:
        return index_for(bank)
    except FileNotFoundError as e:
        raise BankError(f"{e}: the bank is gone (deleted or moved?); nothing was matched against it") from e


def _matches(index, src: Source, row: dict) -> list:
    """The bank's findings for one image (none without a bank, or for an unreadable image)."""
    if index is None or (row["error"] and row["p_ai"] is None):
        return []
    try:
        return match_findings(index, hash_image(src, recover=True))
    except ImageLoadError:
        return []
