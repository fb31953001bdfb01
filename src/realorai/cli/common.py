"""What every command shares: the consoles, ``fail``, option types and help texts, and the
message that names the ``[train]`` extra when a command needs what the light install lacks."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup

from realorai.inference.rows import printable
from realorai.install import TRAIN

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]

# Exit codes of the commands that check images (predict, inspect, data scan), documented in the README.
EXIT_OK = 0  # every input was scored (or scanned as readable)
EXIT_PARTIAL = 1  # some inputs could not be read; the others were scored, their rows say why
EXIT_USAGE = 2  # a usage error: a bad option, value or combination; nothing was done
EXIT_NOTHING = 3  # nothing scored: no image found, none readable, or the run could not finish


def _flags_as_flags(params: list) -> list:
    # Typer 0.2x prints a type beside every option, "<bool>" beside flags, which invites
    # "--evidence true" (then "true" is read as a file name): a flag shows no type.
    for p in params:
        if getattr(p, "is_flag", False) and getattr(p, "metavar", None) is None:
            p.metavar = ""
    return params


class FlagCommand(TyperCommand):
    def get_params(self, ctx):
        return _flags_as_flags(super().get_params(ctx))


class FlagGroup(TyperGroup):
    def get_params(self, ctx):
        return _flags_as_flags(super().get_params(ctx))


class App(typer.Typer):
    """``typer.Typer`` whose help shows flags as flags, for every command group of the CLI."""

    def __init__(self, **kwargs) -> None:
        super().__init__(cls=FlagGroup, **kwargs)

    def command(self, *args, cls=None, **kwargs):
        register = super().command(*args, cls=cls or FlagCommand, **kwargs)

        def wrap(f):
            if f.__doc__ and "help" not in kwargs:
                f.__doc__ = paragraphs(f.__doc__)
            return register(f)

        return wrap


def paragraphs(doc: str) -> str:
    """A docstring's paragraphs with their source line breaks taken out: Typer keeps the breaks
    of every paragraph after the first, so help text broke mid-sentence wherever the source did."""
    import inspect

    return "\n\n".join(" ".join(p.split()) for p in inspect.cleandoc(doc).split("\n\n"))


class Engine(StrEnum):
    local = "local"
    ray = "ray"


class Backend(StrEnum):
    auto = "auto"
    torch = "torch"
    onnx = "onnx"


class Optim(StrEnum):
    adam = "adam"
    sgd = "sgd"


BACKEND_HELP = "auto: ONNX Runtime for a detector on the CPU (faster, measured), else torch; or force one."
TRUST_HELP = (
    "C2PA trust anchors: a PEM file, or 'none' to skip trust checking. Default: the official C2PA "
    "conformance trust list bundled with realorai (credit: C2PA, conformance-public trust list, CC BY 4.0; "
    "`realorai trust show` gives its date, `realorai trust refresh` updates it)."
)
NETWORK_HELP = "Let C2PA fetch remote manifests and OCSP responses named by the image (off: no request is made)."

# Modules that only the training extra brings (training, evaluation, the torch
# backend), by the name a user would install.
TRAIN_EXTRA_MODULES = {
    "torch": "torch", "torchvision": "torchvision", "timm": "timm", "sklearn": "scikit-learn",
    "matplotlib": "matplotlib", "onnx": "onnx", "scipy": "scipy",
}  # fmt: skip


def shown(text: str) -> str:
    """Any text from a file, its name or its metadata, as a terminal must see it: control
    characters escaped (no terminal escapes from EXIF or file names), then Rich markup."""
    return escape(printable(str(text)))


def fail(message: str, code: int = EXIT_USAGE) -> None:
    err.print(f"[bold red]error:[/] {shown(message)}", highlight=False)
    raise typer.Exit(code)


def missing_extra(e: ImportError) -> str | None:
    """The message for an ImportError of a module the training extra brings, else None."""
    name = (getattr(e, "name", None) or "").split(".")[0]
    if name in TRAIN_EXTRA_MODULES:
        return f"this command needs {TRAIN_EXTRA_MODULES[name]}, which the light install leaves out: {TRAIN}"
    return None
