"""The HTTP API and the web page: ``create_app(settings)`` builds them, ``realorai serve`` runs them.

POST /v1/detect   images as multipart files -> the rows of ``realorai predict --json --evidence``
GET  /v1/models   the loaded detector and its input contract
GET  /healthz     the process is up;   GET /readyz   the detector is loaded
GET  /            the page;            GET /docs     OpenAPI documentation

The detector is loaded once, in ``lifespan``. Inference runs in worker threads behind a bounded
admission gate: a request beyond ``queue_size`` gets 503 with Retry-After before its body is
read, so memory stays bounded under any load. Uploads stay in memory; no URL is ever fetched.
"""

from __future__ import annotations

import secrets
from contextlib import asynccontextmanager
from functools import partial
from importlib import resources

import anyio
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from realorai.detector.api import Detector, error_row
from realorai.imaging import NOT_AN_IMAGE, ImageLoadError, Upload, open_image
from realorai.predict import analyze
from realorai.provenance import DEFAULT
from realorai.serve.settings import ServeSettings
from realorai.serve.uploads import Limits, UploadError, read_uploads

# What the service accepts, by the format Pillow reads from the bytes (the declared type and the
# file name are the client's claims and are not trusted).
ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "DIB", "TIFF", "AVIF", "ICO", "JPEG2000", "QOI", "TGA"}
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


def _error(status: int, message: str, file: str | None = None, **extra) -> JSONResponse:
    body = {"error": {"status": status, "message": message, "file": file}, **extra}
    return JSONResponse(body, status_code=status)


def check_upload(upload: Upload, max_pixels: int) -> tuple[int, str]:
    """(0, "") for an upload worth decoding, else (415 or 422, reason), from its header alone."""
    try:
        with open_image(upload, max_pixels) as img:
            fmt = img.format or "unknown"
    except ImageLoadError as e:
        return (415 if e.reason.startswith(NOT_AN_IMAGE) else 422), e.reason
    if fmt not in ACCEPTED_FORMATS:
        return 415, f"{fmt} files are not accepted; send JPEG, PNG, WebP, GIF, BMP, TIFF, AVIF or similar"
    return 0, ""


def score_uploads(detector: Detector, uploads: list[Upload], settings: ServeSettings, trust, **options) -> list[dict]:
    """Rows in upload order; a bad file is an error row with ``error_status``, never an exception."""
    rows: list[dict | None] = [None] * len(uploads)
    good = []
    for i, u in enumerate(uploads):
        status, reason = check_upload(u, settings.max_pixels)
        if status:
            row = error_row(u.name, reason, detector.threshold)
            rows[i] = {**row, "error_status": status}
        else:
            good.append(i)
    scored = analyze(detector, [uploads[i] for i in good], c2pa_trust=trust, **options)
    for i, row in zip(good, scored, strict=True):
        if row["p_ai"] is None and row["error"]:
            row["error_status"] = 422  # passed the header check, failed to decode
        rows[i] = row
    return rows  # type: ignore[return-value]


def create_app(settings: ServeSettings | None = None, detector: Detector | None = None) -> FastAPI:
    """The app; ``detector`` (for tests) skips loading one from ``settings.model``."""
    settings = settings or ServeSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        from realorai.provenance.trust import resolve
        from realorai.train import pick_device

        app.state.trust = DEFAULT if settings.c2pa_trust is None else resolve(settings.c2pa_trust)
        app.state.detector = detector or await anyio.to_thread.run_sync(
            Detector.load, settings.model, pick_device("auto"), settings.backend
        )
        yield
        app.state.detector = None

    from realorai import __version__

    app = FastAPI(title="realorai", version=__version__, lifespan=lifespan, summary="Is this image AI-generated?")
    app.state.settings, app.state.detector = settings, None
    app.state.gate = Gate(settings.queue_size)
    app.state.limiter = anyio.CapacityLimiter(settings.workers)
    limits = Limits(int(settings.max_upload_mb * 1e6), int(settings.max_request_mb * 1e6), settings.max_files)

    def require_key(request: Request) -> None:
        key = settings.api_key
        given = request.headers.get("x-api-key", "")
        if key is not None and not secrets.compare_digest(given.encode(), key.get_secret_value().encode()):
            raise StarletteHTTPException(401, "missing or wrong API key (send it in the X-API-Key header)")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        return _error(500, f"internal error ({type(exc).__name__}); the request was not processed")

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        if request.url.path == "/":
            response.headers["Content-Security-Policy"] = PAGE_CSP
        return response

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz(request: Request):
        det = request.app.state.detector
        if det is None:
            return _error(503, "the detector is not loaded yet")
        return {"status": "ready", "model": det.name}

    @app.get("/v1/models", dependencies=[Depends(require_key)])
    async def models(request: Request) -> dict:
        det: Detector = request.app.state.detector
        d = det.model.data_config
        return {
            "models": [
                {
                    "name": det.name,
                    "source": "shipped default" if settings.model is None else "run folder or checkpoint",
                    "threshold": det.threshold,
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
            },
        }

    @app.post("/v1/detect", dependencies=[Depends(require_key)])
    async def detect(
        request: Request,
        heatmap: bool = Query(False, description="Add a per-region P(AI) overlay (PNG data URI) per image."),
        evidence: bool = Query(True, description="Add C2PA, watermark and metadata findings."),
    ):
        """Images as multipart file fields (any field name) -> one row per image, in order."""
        state = request.app.state
        if state.detector is None:
            return _error(503, "the detector is not loaded yet")
        if not state.gate.enter():
            response = _error(503, f"busy: {settings.queue_size} requests in progress; retry shortly")
            response.headers["Retry-After"] = str(settings.retry_after_s)
            return response
        try:
            try:
                uploads = await read_uploads(request, limits)
            except UploadError as e:
                return _error(e.status, e.message, e.file)
            work = partial(
                score_uploads, state.detector, uploads, settings, state.trust, evidence=evidence, heatmaps=heatmap
            )
            rows = await anyio.to_thread.run_sync(work, limiter=state.limiter)
        finally:
            state.gate.leave()
        body = {"model": state.detector.name, "threshold": state.detector.threshold, "results": rows}
        if all("error_status" in r for r in rows):  # nothing could be scored: the request failed
            first = rows[0]
            return _error(first["error_status"], first["error"], first["path"], **body)
        return body

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse(_page_html())

    return app


def _page_html() -> str:
    return (resources.files("realorai.serve") / "static" / "index.html").read_text(encoding="utf-8")
