"""Options that ``predict`` and ``inspect`` share (a bank, a stream, provenance on or off)."""

from __future__ import annotations

from typing import Annotated

import typer

Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="List the files skipped (no image extension).")]
BankOption = Annotated[
    str | None,
    typer.Option("--bank", envvar="REALORAI_BANK", help="A bank of known images (realorai bank add): copies of "
                 "its pictures get their evidence back (basis 'match')."),
]  # fmt: skip
BankLearn = Annotated[
    bool, typer.Option("--bank-learn", help="Bank each image whose verified content credential decided its verdict.")
]
StreamOption = Annotated[
    str | None,
    typer.Option("--stream", help="Score pixels with this stream's newest version (realorai learn; needs --bank)."),
]
PixelsOnly = Annotated[
    bool, typer.Option("--pixels-only", help="Do not read provenance (C2PA, watermarks, metadata): faster.")
]
