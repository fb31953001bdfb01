"""The HTTP API and the web page: ``create_app(settings)`` builds them, ``realorai serve`` runs them.

POST /v1/detect   images as multipart files -> the rows of ``realorai predict --json --evidence``
GET  /v1/models   the loaded detector and its input contract
GET  /healthz     the process is up;   GET /readyz   the detector is loaded
GET  /            the page;            GET /docs     OpenAPI documentation

The detector is loaded once, in ``lifespan``. Inference runs in worker threads behind a bounded
admission gate: a request beyond ``queue_size`` gets 503 with Retry-After before its body is
read, so memory stays bounded under any load. Uploads stay in memory; no URL is ever fetched.
Routes live in ``routes.py``, their dependencies in ``deps.py``.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from realorai import __version__
from realorai.device import device_name
from realorai.inference.detector import Detector
from realorai.provenance import resolve
from realorai.serve.deps import error_response
from realorai.serve.routes import router
from realorai.serve.settings import ServeSettings

PAGE_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'"
)


class Gate:
    """Admission control: at most ``capacity`` requests in the service at once. Used from the
    event loop only, so a plain counter is enough."""

    def __init__(self, capacity: int) -> None:
        self.capacity, self.inside = capacity, 0

    def enter(self) -> bool:
        if self.inside >= self.capacity:
            return False
        self.inside += 1
        return True

    def leave(self) -> None:
        self.inside -= 1


def create_app(settings: ServeSettings | None = None, detector: Detector | None = None) -> FastAPI:
    """The app; ``detector`` (for tests) skips loading one from ``settings.model``."""
    settings = settings or ServeSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.trust = resolve(settings.c2pa_trust)
        app.state.detector = detector or await anyio.to_thread.run_sync(
            Detector.load, settings.model, device_name("auto"), settings.backend
        )
        yield
        app.state.detector = None

    app = FastAPI(title="realorai", version=__version__, lifespan=lifespan, summary="Is this image AI-generated?")
    app.state.settings, app.state.detector = settings, None
    app.state.gate = Gate(settings.queue_size)
    app.state.limiter = anyio.CapacityLimiter(settings.workers)
    _add_error_handlers(app)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        if request.url.path == "/":
            response.headers["Content-Security-Policy"] = PAGE_CSP
        return response

    app.include_router(router)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    """Every error is the same JSON body: {"error": {"status", "message", "file"}}."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        return error_response(500, f"internal error ({type(exc).__name__}); the request was not processed")
