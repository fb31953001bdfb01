"""The ``realorai`` command line: one entry point, one module per command group.

Each module below defines its commands; this one registers them, so no command module imports
this one back. Commands import their work lazily, so ``realorai predict`` loads no training code.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from realorai import limits
from realorai.cli import adapt, bank, bench, data, evaluate, export, learn, predict, serve, train, trust, weights
from realorai.cli import bank_admin as _bank_admin  # noqa: F401  (its commands join `realorai bank`)
from realorai.cli.common import App, err, missing_extra, out, shown

app = App(
    help="Tell AI-generated images from real photographs and artwork.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(data.app, name="data")
app.command("models")(train.models_cmd)
app.command("train")(train.train_cmd)
app.command("evaluate")(evaluate.evaluate_cmd)
app.command("report")(evaluate.report_cmd)
app.command("reproduce")(evaluate.reproduce_cmd)
app.command("predict")(predict.predict_cmd)
app.command("inspect")(predict.inspect_cmd)
app.command("adapt")(adapt.adapt_cmd)
app.command("benchmark")(bench.benchmark_cmd)
app.add_typer(export.app, name="export")
app.command("serve")(serve.serve_cmd)
app.add_typer(trust.app, name="trust")
app.add_typer(bank.app, name="bank")
app.add_typer(weights.app, name="weights")
app.add_typer(learn.app, name="learn")


def _version(value: bool) -> None:
    if value:
        from realorai import __version__

        out.print(f"realorai {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Tell AI-generated images from real photographs and artwork."""


def main() -> None:
    """The console entry point: an unexpected error is one `error:` line, not a traceback
    (set REALORAI_DEBUG=1 to see the traceback)."""
    # Freed image buffers go back to the system, as in the server: without it each decoding
    # thread kept its own peak, and a scan of three large images held three peaks at once.
    limits.return_freed_memory()
    try:
        app()
    except ImportError as e:
        if os.environ.get("REALORAI_DEBUG") or not missing_extra(e):
            _unexpected(e)
        err.print(f"[bold red]error:[/] {shown(missing_extra(e) or '')}", highlight=False)
        sys.exit(2)
    except Exception as e:
        _unexpected(e)


def _unexpected(e: Exception) -> None:
    if os.environ.get("REALORAI_DEBUG"):
        raise e
    err.print(f"[bold red]error:[/] {shown(f'{type(e).__name__}: {e}')}", highlight=False)
    err.print("(unexpected; rerun with REALORAI_DEBUG=1 for the traceback and report it)", highlight=False)
    sys.exit(2)


if __name__ == "__main__":
    main()
