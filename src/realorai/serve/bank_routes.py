"""The bank's routes: its state, an entry's thumbnail (shown beside a matched upload on the page)
and a moderator's confirmation, which banks an upload as ``confirmed`` by the API key's holder.

Without a bank (``REALORAI_BANK``) they answer 404. A confirmation needs an API key configured
(``REALORAI_API_KEY``): on an open server anyone could bank labels for everyone.
"""

from __future__ import annotations

from enum import StrEnum

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from realorai.bank import Bank
from realorai.bank.store import BankError
from realorai.serve.admission import Held
from realorai.serve.deps import SettingsDep, error_response, require_key
from realorai.serve.settings import ServeSettings
from realorai.serve.uploads import UploadError, read_uploads

router = APIRouter(prefix="/v1/bank", dependencies=[Depends(require_key)], tags=["bank"])
streams_router = APIRouter(dependencies=[Depends(require_key)], tags=["streams"])


class Label(StrEnum):
    ai = "ai"
    real = "real"


def check_bank(settings: ServeSettings) -> None:
    """Open the configured bank once at start-up: a file that is not a bank is refused by name."""
    if settings.bank:
        Bank(settings.bank, create=settings.bank_learn)


def _bank(settings: ServeSettings) -> Bank | None:
    """The configured bank (None: none configured); one that is gone or unreadable raises
    ``BankError``, which the app answers with 503 (and logs once: ``scoring.bank_health``)."""
    if not settings.bank:
        return None
    try:
        return Bank(settings.bank)
    except FileNotFoundError as e:  # deleted under the running server: the app's BankError handler answers
        raise BankError(str(e)) from e


@router.get("")
async def bank_state(settings: SettingsDep):
    """Whether a bank is configured, its entries by label and evidence, and whether this server
    takes confirmations (an API key is configured)."""
    bank = _bank(settings)
    if bank is None:
        return {"bank": None, "confirm": False}
    return {"bank": bank.stats(), "confirm": settings.api_key is not None, "learn": settings.bank_learn}


@router.get("/entries/{entry_id}/thumbnail", responses={200: {"content": {"image/jpeg": {}}}, 404: {}})
async def thumbnail(entry_id: int, settings: SettingsDep):
    """The banked picture's 128-px JPEG, stored when it was banked (imported hashes have none)."""
    bank = _bank(settings)
    data = bank.thumbnail(entry_id) if bank is not None else None
    if data is None:
        return error_response(404, f"no thumbnail for bank entry {entry_id}")
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


@router.post("/confirm")
async def confirm(
    request: Request,
    settings: SettingsDep,
    label: Label = Query(description="What the moderator confirms the picture is."),
    note: str = Query("", max_length=500, description="A note kept with the entry."),
    stream: str | None = Query(None, max_length=64, description="Also learn the confirmation into this stream."),
):
    """One image as a multipart file: banked as ``confirmed`` ``label`` by the API key's holder
    (REALORAI_API_KEY_NAME). Its copies then get ``likely_`` + label with basis ``match``."""
    from realorai.serve.routes import upload_limits

    bank = _bank(settings)
    if bank is None:
        return error_response(404, "this server has no bank (REALORAI_BANK)")
    if settings.api_key is None:
        return error_response(403, "confirmations need an API key on this server (REALORAI_API_KEY)")
    held = Held(request.app.state.buffers)  # the upload counts against the buffer budget, as in detect
    try:
        try:
            uploads = await read_uploads(request, upload_limits(settings, held.reserve))
        except UploadError as e:
            return error_response(e.status, e.message, e.file)
        if len(uploads) != 1:
            return error_response(400, f"send exactly one image to confirm, not {len(uploads)}")
        # Through the same gate and worker limiter as /v1/detect: a confirmation decodes an image too.
        state = request.app.state
        if not state.gate.take():
            return error_response(503, f"busy: {settings.queue_size} requests in progress; retry shortly")
        try:
            done = await anyio.to_thread.run_sync(
                lambda: _confirm(bank, uploads[0], label.value, settings.api_key_name, note, stream),
                limiter=state.limiter,
            )
        finally:
            state.gate.give()
    finally:
        held.release_all()
    if stream is not None and not isinstance(done, str) and done.status == "banked":
        await anyio.to_thread.run_sync(_refit, bank, stream, settings.refit_every)
    if isinstance(done, str):  # a stream name that is not one
        return error_response(422, done)
    if done.status == "error":
        return error_response(422, done.why, done.path)
    if done.status == "skipped" and not done.entry:
        return error_response(422, done.why, done.path)
    return {"status": done.status, "entry": done.entry, "why": done.why, "warning": done.warning, "stream": stream}


def _confirm(bank: Bank, upload, label: str, by: str, note: str, stream: str | None):
    """Bank one upload as confirmed by the API key's holder, and with ``stream`` learn it there
    (only an authenticated confirmation reaches a stream: this route needs the key); a message
    (str) for a stream that cannot take it."""
    from realorai.learn.loop import bank_and_learn

    try:
        return bank_and_learn(bank, upload, label, by, note, stream)
    except ValueError as e:  # the server's path stays in the server
        return str(e).replace(bank.location, "the server's bank")


def _refit(bank: Bank, stream: str, every: int) -> None:
    """After a confirmation: a background refit when the stream has ``every`` new ones."""
    import logging

    from realorai.learn.loop import refit_in_background

    refit_in_background(bank, stream, every, logging.getLogger("realorai.serve").info)


@streams_router.get("/v1/streams")
async def streams(settings: SettingsDep):
    """Each stream of the bank: its examples, version, tiers, their recent precision, suspensions."""
    from realorai.learn import store
    from realorai.learn.loop import status

    bank = _bank(settings)
    if bank is None:
        return {"streams": []}
    return {"streams": await anyio.to_thread.run_sync(lambda: [status(bank, s) for s in store.names(bank)])}


@router.get("/export", responses={200: {"content": {"text/csv": {}}}})
async def export_feed(settings: SettingsDep, since: int = Query(0, ge=0, description="The log id to resume after.")):
    """This bank's own entries added, revoked or removed after log row ``since``, as CSV
    (docs/BANK.md, "Subscriptions"), streamed; its first line names the checkpoint to resume from.
    Needs an API key configured: a bank is shared with whoever holds the key."""
    from fastapi.responses import StreamingResponse

    from realorai.bank.feed import feed_lines

    bank = _bank(settings)
    if bank is None:
        return error_response(404, "this server has no bank (REALORAI_BANK)")
    if settings.api_key is None:
        return error_response(403, "exports need an API key on this server (REALORAI_API_KEY)")
    return StreamingResponse(feed_lines(bank, since), media_type="text/csv; charset=utf-8")
