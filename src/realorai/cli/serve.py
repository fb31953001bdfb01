"""``realorai serve``: the HTTP API and the web page, run by uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from realorai.cli.common import BACKEND_HELP, Backend, fail, out


def serve_cmd(
    model: Annotated[
        Path | None,
        typer.Option(help="Run folder or checkpoint (default: detector-clip-b16, or its fallback: docs/INSTALL.md)."),
    ] = None,
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1: this machine only).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000; 0: a free port, printed at start).")] = None,
    backend: Annotated[Backend | None, typer.Option(help=BACKEND_HELP)] = None,
    bank: Annotated[
        str | None,
        typer.Option(help="A bank of known images (a file, or postgresql://...); REALORAI_BANK.", show_default=False),
    ] = None,
    bank_learn: Annotated[
        bool | None, typer.Option("--bank-learn", help="Bank each upload whose verified credential decided it.")
    ] = None,
) -> None:
    """Serve the API (POST /v1/detect, /docs) and the page at / .

    Limits and the API key come from REALORAI_* environment variables (REALORAI_API_KEY,
    REALORAI_MAX_UPLOAD_MB, REALORAI_MAX_FILES, REALORAI_QUEUE_SIZE...; see the README).
    """
    import uvicorn
    from pydantic import ValidationError

    from realorai.device import device_name
    from realorai.inference.detector import Detector
    from realorai.provenance import resolve
    from realorai.serve import ServeSettings, create_app, uvicorn_options
    from realorai.serve.bank_routes import check_bank

    given = {"model": str(model) if model else None, "host": host, "port": port, "backend": backend and backend.value,
             "bank": str(bank) if bank else None, "bank_learn": bank_learn}  # fmt: skip
    overrides = {k: v for k, v in given.items() if v is not None}  # --port 0 and --host '' are choices too
    try:
        settings = ServeSettings(**overrides)
        settings.check_exposure()
        if settings.model is not None and not Path(settings.model).exists():
            raise ValueError(f"{settings.model}: no such run folder or checkpoint")
        # Everything that can fail on a user's settings fails here, as one line, before serving:
        # the trust list and the model (the app would otherwise fail inside uvicorn's start-up).
        resolve(settings.c2pa_trust)
        check_bank(settings)
        detector = Detector.load(settings.model, device_name("auto"), settings.backend)
    except ValidationError as e:
        fail("; ".join(f"REALORAI_{'_'.join(map(str, x['loc'])).upper()}: {x['msg']}" for x in e.errors()))
    except (ValueError, FileNotFoundError) as e:
        fail(str(e))
    where = f"http://{settings.host}:{settings.port}/" if settings.port else f"a free port of {settings.host}"
    out.print(f"realorai: serving on {where} (uvicorn prints the address; API docs at /docs); Ctrl+C stops")
    uvicorn.run(create_app(settings, detector), **uvicorn_options(settings))
