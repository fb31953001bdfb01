"""Dependencies of the routes (FastAPI ``Annotated`` style): the loaded detector, the settings,
the API key check, and the one JSON error body."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from realorai.inference.detector import Detector
from realorai.serve.settings import ServeSettings


def error_response(status: int, message: str, file: str | None = None, **extra) -> JSONResponse:
    body = {"error": {"status": status, "message": message, "file": file}, **extra}
    return JSONResponse(body, status_code=status)


def get_settings(request: Request) -> ServeSettings:
    return request.app.state.settings


def get_detector(request: Request) -> Detector:
    det = request.app.state.detector
    if det is None:
        raise StarletteHTTPException(503, "the detector is not loaded yet")
    return det


def require_key(settings: Annotated[ServeSettings, Depends(get_settings)], request: Request) -> None:
    key = settings.api_key
    given = request.headers.get("x-api-key", "")
    if key is not None and not secrets.compare_digest(given.encode(), key.get_secret_value().encode()):
        raise StarletteHTTPException(401, "missing or wrong API key (send it in the X-API-Key header)")


SettingsDep = Annotated[ServeSettings, Depends(get_settings)]
DetectorDep = Annotated[Detector, Depends(get_detector)]
