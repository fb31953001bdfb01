"""``realorai benchmark``: registered on the main Typer app (kept apart to keep cli.py short)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from realorai.cli.common import BACKEND_HELP, Backend, Quiet, fail, out


def benchmark_cmd(
    datasets: Annotated[list[Path], typer.Argument(help="Dataset folders, each with ai/ and real/ sub-folders.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for benchmark.{md,html,json}.")] = Path(
        "runs/benchmark"
    ),
    model: Annotated[
        Path | None,
        typer.Option(help="Run folder or checkpoint (default: detector-clip-b16, or its fallback: docs/INSTALL.md)."),
    ] = None,
    robustness: Annotated[bool, typer.Option("--robustness/--no-robustness", help="The perturbation sweep.")] = True,
    robustness_limit: Annotated[
        int, typer.Option(help="Images per dataset in the sweep (a seeded, class-balanced sample; 0 = all).")
    ] = 400,
    lodo: Annotated[
        bool, typer.Option("--lodo", help="Leave-one-dataset-out: train on the rest, test on each.")
    ] = False,
    lodo_model: Annotated[str | None, typer.Option(help="Detector design trained by --lodo and --logo.")] = None,
    logo: Annotated[
        bool,
        typer.Option("--logo", help="Leave-one-generator-out inside each dataset with a generators.csv."),
    ] = False,
    backend: Annotated[Backend, typer.Option(help=BACKEND_HELP)] = Backend.auto,
    quiet: Quiet = False,
) -> None:
    """ROC-AUC, AP, balanced accuracy, accuracy on real and AI, ECE per dataset; shortcut checks;
    robustness; false positives on real-only folders; LODO and LOGO.

    A folder holding only real/ images is a real-only set: its false-positive rate is reported,
    and with --lodo it joins every fold's training as extra real images."""
    from realorai.evaluation.benchmark import benchmark
    from realorai.evaluation.benchmark_tables import tables

    try:
        result = benchmark(
            [str(d) for d in datasets],
            output,
            model,
            robustness,
            robustness_limit or None,
            lodo,
            lodo_model,
            command="realorai " + " ".join(sys.argv[1:]),
            show_progress=not quiet,
            log=out.print,
            backend=backend.value,
            logo=logo,
        )
    except (FileNotFoundError, ValueError, KeyError) as e:
        fail(str(e).strip("'\""))
    for title, table in tables(result):
        out.print(f"\n[bold]{title}[/]\n{table}", highlight=False)
    out.print("\nwrote " + ", ".join(result["written"]))
