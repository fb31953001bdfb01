"""The routes: POST /v1/detect, GET /v1/models, /healthz, /readyz and the page."""

from __future__ import annotations

from functools import partial
from importlib import resources

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from realorai.inference.detector import stream_detector
from realorai.inference.rows import SCHEMA_VERSION
from realorai.serve.admission import Held
from realorai.serve.deps import DetectorDep, SettingsDep, error_response, require_key
from realorai.serve.schema import DETECT_BODY, DETECT_RESPONSES
from realorai.serve.scoring import learn_uploads, score_uploads
from realorai.serve.uploads import Limits, UploadError, read_uploads

router = APIRouter()


@router.get("/healthz")
async def healthz(settings: SettingsDep) -> dict:
    """The server is up; with a bank configured, whether it can be read now (one O(1) read)."""
    if not settings.bank:
        return {"status": "ok"}
    return {"status": "ok", **await anyio.to_thread.run_sync(_bank_health, settings.bank)}


def _bank_health(location: str) -> dict:
    from realorai.bank import Bank

    try:
        Bank(location).version()
    except (OSError, ValueError) as e:  # BankError is a ValueError; its words name no path or URL here
        from realorai.bank.match import cached

        kind = "file" if "://" not in location else "database"
        last = cached(location) if kind == "database" else None
        matching = f"from this server's last index of the bank ({len(last)} entries)" if last else "none"
        return {"bank": "unreachable", "bank_problem": f"the bank's {kind} cannot be read: {type(e).__name__}",
                "matching": matching}  # fmt: skip
    return {"bank": "ok"}


@router.get("/readyz")
async def readyz(request: Request):
    det = request.app.state.detector
    if det is None:
        return error_response(503, "the detector is not loaded yet")
    return {"status": "ready", "model": det.name}


@router.get("/v1/models", dependencies=[Depends(require_key)])
async def models(det: DetectorDep, settings: SettingsDep) -> dict:
    d = det.model.data_config
    return {
        "models": [
            {
                "name": det.name,
                "source": ("shipped fallback" if det.note else "shipped default")
                if settings.model is None
                else "run folder or checkpoint",
                "note": det.note,  # why the fallback scores, where it does (inference.default)
                "threshold": det.threshold,
                "tiers": det.tiers.to_dict(),
                "backend": det.backend,
                "input": {"size": d.input_size, "resize": d.resize, "crop_grid": d.crop_grid},
                "trained_on": det.meta.get("train_datasets"),
            }
        ],
        "limits": {
            "max_upload_mb": settings.max_upload_mb,
            "max_request_mb": settings.max_request_mb,
            "max_files": settings.max_files,
            "max_pixels": settings.max_pixels,
            "max_decoded_mb": settings.max_decoded_mb,
            "max_buffered_mb": settings.max_buffered_mb,
            "body_timeout_s": settings.body_timeout_s,
            "header_timeout_s": settings.header_timeout_s,
            "max_request_pixels": settings.max_request_pixels,
        },
    }


@router.post("/v1/detect", dependencies=[Depends(require_key)], responses=DETECT_RESPONSES, openapi_extra=DETECT_BODY)
async def detect(
    request: Request,
    det: DetectorDep,
    settings: SettingsDep,
    heatmap: bool = Query(False, description="Add a per-region P(AI) overlay (PNG data URI) per image."),
    evidence: bool = Query(
        True, description="Read provenance (C2PA, watermarks, metadata); false scores pixels only (faster)."
    ),
    stream: str | None = Query(
        None, max_length=64, description="Score pixels with this stream's newest version (needs the server's bank)."
    ),
):
    """Images as multipart file fields (any field name) -> one row per image, in order.

    Each row's ``verdict`` comes from all the evidence: verified provenance (a trusted C2PA
    credential) decides; otherwise the pixel detector's tier. A bad file is an error row (its
    ``error_status`` says why) and the others are still checked; when no file could be checked
    the request fails with the first file's status."""
    state = request.app.state
    # The body is read first, under a deadline and a minimum rate, with its own slots: a client
    # that trickles its body holds a reader slot for seconds at most, never an inference slot.
    if not state.readers.take():
        return _busy(settings, f"{settings.max_readers} uploads in progress")
    held = Held(state.buffers)
    try:
        try:
            uploads = await read_uploads(request, upload_limits(settings, held.reserve))
        except UploadError as e:
            return error_response(e.status, e.message, e.file)
        finally:
            state.readers.give()
        if stream is not None:
            if not settings.bank:
                return error_response(422, "stream: streams live in the server's bank (REALORAI_BANK)")
            try:
                det = await anyio.to_thread.run_sync(stream_detector, settings.bank, stream)
            except ValueError as e:  # the server's path stays in the server
                return error_response(422, str(e).replace(settings.bank, "the server's bank"))
        if not state.gate.take():
            return _busy(settings, f"{settings.queue_size} requests in progress")
        try:
            work = partial(
                score_uploads, det, uploads, state.trust, settings.max_request_pixels, provenance=evidence,
                heatmaps=heatmap, bank=settings.bank if evidence else None,
            )  # fmt: skip
            rows = await anyio.to_thread.run_sync(work, limiter=state.limiter)
            if settings.bank and settings.bank_learn:
                await anyio.to_thread.run_sync(learn_uploads, settings.bank, uploads, rows, state.trust)
        finally:
            state.gate.give()
    finally:
        held.release_all()  # the uploads' bytes count against the buffer budget until answered
    body = {"model": det.name, "schema_version": SCHEMA_VERSION, "results": rows}
    if all(r["error_status"] for r in rows):  # nothing could be scored: the request failed
        first = rows[0]
        return error_response(first["error_status"], first["error"], first["path"], **body)
    return body


def _busy(settings, what: str):
    response = error_response(503, f"busy: {what}; retry shortly")
    response.headers["Retry-After"] = str(settings.retry_after_s)
    return response


def upload_limits(settings, reserve) -> Limits:
    return Limits(
        int(settings.max_upload_mb * 1e6),
        int(settings.max_request_mb * 1e6),
        settings.max_files,
        settings.body_timeout_s,
        settings.min_body_rate_kbps * 1e3,
        reserve,
    )


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def page() -> HTMLResponse:
    return HTMLResponse((resources.files("realorai.serve") / "static" / "index.html").read_text(encoding="utf-8"))
