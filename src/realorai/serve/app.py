"""The HTTP API and the web page: ``create_app(settings)`` builds them, ``realorai serve`` runs them.

POST /v1/detect   images as multipart files -> the rows of ``realorai predict --json``
GET  /v1/models   the loaded detector and its input contract
GET  /healthz     the process is up;   GET /readyz   the detector is loaded
GET  /            the page;            GET /docs     OpenAPI documentation
(HEAD is answered wherever GET is: ``head.py``)

The detector is loaded once, in ``lifespan``. A request's body is read first, under a deadline
and a minimum rate, in one of ``max_readers`` reader slots and within a byte budget for all
uploads held (``max_buffered_mb``); then it takes one of ``queue_size`` inference slots (503 with
Retry-After when none is free) and is scored in worker threads, its pixels decoded within the
process's decode budget (``max_decoded_mb``). Memory is bounded by the model plus those two
budgets under any load. Uploads stay in memory; no URL is ever fetched.
Routes live in ``routes.py``, their dependencies in ``deps.py``.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from importlib import resources

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from realorai import __version__, limits
from realorai.bank.store import BankError
from realorai.device import device_name
from realorai.inference.detector import Detector
from realorai.learn import refit
from realorai.provenance import resolve
from realorai.serve.admission import Budget, Gate
from realorai.serve.bank_routes import check_bank, streams_router
from realorai.serve.bank_routes import router as bank_router
from realorai.serve.connections import install_log_filter
from realorai.serve.deps import error_response
from realorai.serve.guard import cross_site, host_allowed
from realorai.serve.head import HeadAsGet
from realorai.serve.model_page import router as model_router
from realorai.serve.routes import router
from realorai.serve.scoring import bank_health
from realorai.serve.settings import ServeSettings

PAGE_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'"
)


def create_app(settings: ServeSettings | None = None, detector: Detector | None = None) -> FastAPI:
    """The app; ``detector`` (for tests) skips loading one from ``settings.model``."""
    settings = settings or ServeSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # One pixel limit and one decode budget for every decoder in the process (realorai.limits).
        before = limits.current()
        limits.set_limits(settings.max_pixels, int(settings.max_decoded_mb * 1e6))
        limits.return_freed_memory()
        install_log_filter()  # after uvicorn has set its logging up: one line per cause
        app.state.trust = resolve(settings.c2pa_trust)
        check_bank(settings)
        try:
            app.state.detector = detector or await anyio.to_thread.run_sync(
                Detector.load, settings.model, device_name("auto"), settings.backend
            )
            yield
        finally:
            app.state.detector = None
            limits.set_limits(before.max_pixels, before.max_decoded_bytes)

    app = FastAPI(
        title="realorai", version=__version__, lifespan=lifespan, summary="Is this image AI-generated?", docs_url=None
    )
    app.state.settings, app.state.detector = settings, None
    app.state.gate = Gate(settings.queue_size, refit.hold, refit.release)  # refits run between requests
    app.state.readers = Budget(settings.max_readers)
    app.state.buffers = Budget(int(settings.max_buffered_mb * 1e6))
    app.state.limiter = anyio.CapacityLimiter(settings.workers)
    _add_error_handlers(app)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        if not host_allowed(settings, request.headers.get("host", "")):
            return error_response(421, "this server does not answer to that host name (see REALORAI_ALLOWED_HOSTS)")
        if request.method == "POST" and cross_site(request.headers, settings):
            return error_response(403, "cross-site requests need an API key (REALORAI_API_KEY)")
        response = await call_next(request)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        if request.url.path in ("/", "/model"):
            response.headers["Content-Security-Policy"] = PAGE_CSP
        return response

    app.include_router(router)
    app.include_router(bank_router)
    app.include_router(streams_router)
    app.include_router(model_router)
    _add_docs(app)
    app.add_middleware(HeadAsGet)  # outermost: the routes and guards see a GET
    return app


def _add_docs(app: FastAPI) -> None:
    """/docs from Swagger UI files shipped in the package (static/swagger, Apache-2.0): the API
    documentation works offline, like the page; FastAPI's default loads them from a CDN."""
    assets = resources.files("realorai.serve") / "static" / "swagger"
    app.mount("/static/swagger", StaticFiles(directory=str(assets)), name="swagger")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="realorai API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon-32x32.png",
        )


def _add_error_handlers(app: FastAPI) -> None:
    """Every error is the same JSON body: {"error": {"status", "message", "file"}}."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))

    @app.exception_handler(BankError)
    async def bank_down(request: Request, exc: BankError) -> JSONResponse:
        bank_health(str(exc))  # the path and SQLite's words go to the log, once; the client gets a 503
        return error_response(503, "the server's bank of known images cannot be used now; retry later")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        return error_response(500, f"internal error ({type(exc).__name__}); the request was not processed")
