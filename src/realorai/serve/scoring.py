"""Uploads -> rows: a header check first (415/422 without decoding), then ``inference.analyze``."""

from __future__ import annotations

import logging

from realorai.bank.store import BankError
from realorai.imaging import NOT_AN_IMAGE, ImageLoadError, Upload, open_image
from realorai.inference.analyze import analyze
from realorai.inference.detector import Detector
from realorai.inference.rows import error_row
from realorai.provenance import TrustAnchors

log = logging.getLogger("realorai.serve")

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
    try:
        scored = analyze(detector, [uploads[i] for i in good], c2pa_trust=trust, **options)
        bank_health(None)
    except BankError as e:  # the bank is gone or broken: say so in every row, and once in the log
        bank_health(str(e))
        # The server's path stays in its log; the client learns what happened and that it is the server's.
        why = "the server's bank of known images cannot be read now, so no verdict is given; retry later"
        scored = [{**error_row(uploads[i].name, why, detector.tiers), "error_status": 503} for i in good]
    for i, row in zip(good, scored, strict=True):
        # 422: passed the header check, failed to decode
        status = row.get("error_status") or (422 if row["verdict"] == "error" else None)
        rows[i] = {**row, "error_status": status}
    return rows  # type: ignore[return-value]


_bank_problem: list[str | None] = [None]  # the last bank error this process logged (None: the bank works)


def bank_health(problem: str | None) -> None:
    """Log a bank error once when it starts, and once when the bank works again."""
    if (problem is None) == (_bank_problem[0] is None):
        return  # no change between working and not working: said once already
    if problem is not None:
        log.error("bank unavailable: %s (every /v1/detect answers error rows until it is back)", problem)
    elif _bank_problem[0] is not None:
        log.warning("the bank can be read again")
    _bank_problem[0] = problem


def learn_uploads(bank: str, uploads: list[Upload], rows: list[dict], trust: TrustAnchors) -> int:
    """``bank_learn``: bank each upload whose verified credential decided its row (the credential
    is read and verified again from the bytes by ``bank.add``); how many were banked."""
    from realorai.bank import Bank
    from realorai.bank.add import learn

    return sum(a.status == "banked" for a in learn(Bank(bank), uploads, rows, trust))
