"""Uploads -> rows: a header check first (415/422 without decoding), then ``inference.analyze``."""

from __future__ import annotations

from realorai.imaging import NOT_AN_IMAGE, ImageLoadError, Upload, open_image
from realorai.inference.analyze import analyze
from realorai.inference.detector import Detector
from realorai.inference.rows import error_row
from realorai.provenance import TrustAnchors

# What the service accepts, by the format Pillow reads from the bytes (the declared type and the
# file name are the client's claims and are not trusted).
ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "DIB", "TIFF", "AVIF", "ICO", "JPEG2000", "QOI", "TGA"}


def check_upload(upload: Upload) -> tuple[int, str, int]:
    """(0, "", pixels) for an upload worth decoding, else (415 or 422, reason, 0), from its header
    alone (the process's pixel and decode limits: ``realorai.limits``)."""
    try:
        with open_image(upload) as img:
            fmt, pixels = img.format or "unknown", img.width * img.height
    except ImageLoadError as e:
        return (415 if e.reason.startswith(NOT_AN_IMAGE) else 422), e.reason, 0
    if fmt not in ACCEPTED_FORMATS:
        return 415, f"{fmt} files are not accepted; send JPEG, PNG, WebP, GIF, BMP, TIFF, AVIF or similar", 0
    return 0, "", pixels


def score_uploads(
    detector: Detector, uploads: list[Upload], trust: TrustAnchors, max_request_pixels: int | None = None, **options
) -> list[dict]:
    """Rows in upload order, each with ``error_status`` (null, or the HTTP status of a file that
    could not be checked): a bad file is an error row, never an exception. The images of one
    request may declare ``max_request_pixels`` in all: the work a request makes is bounded by
    what its headers declare, not by its bytes (16 tiny GIFs can declare 100 MP canvases each)."""
    rows: list[dict | None] = [None] * len(uploads)
    good = []
    declared = 0
    for i, u in enumerate(uploads):
        status, reason, pixels = check_upload(u)
        if not status and max_request_pixels and declared + pixels > max_request_pixels:
            status, reason = (
                422,
                (
                    f"this request's images declare {declared + pixels:,} pixels, over its limit of "
                    f"{max_request_pixels:,} (REALORAI_MAX_REQUEST_PIXELS): send fewer or smaller images per request"
                ),
            )
        declared += pixels if not status else 0
        if status:
            rows[i] = {**error_row(u.name, reason, detector.tiers), "error_status": status}
        else:
            good.append(i)
    scored = analyze(detector, [uploads[i] for i in good], c2pa_trust=trust, **options)
    for i, row in zip(good, scored, strict=True):
        # 422: passed the header check, failed to decode
        rows[i] = {**row, "error_status": 422 if row["verdict"] == "error" else None}
    return rows  # type: ignore[return-value]


def learn_uploads(bank: str, uploads: list[Upload], rows: list[dict], trust: TrustAnchors) -> int:
    """``bank_learn``: bank each upload whose verified credential decided its row (the credential
    is read and verified again from the bytes by ``bank.add``); how many were banked."""
    from realorai.bank import Bank
    from realorai.bank.add import learn

    return sum(a.status == "banked" for a in learn(Bank(bank), uploads, rows, trust))
