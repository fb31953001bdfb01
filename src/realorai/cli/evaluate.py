"""``realorai evaluate``, ``realorai report`` and ``realorai reproduce``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from realorai.cli.common import BACKEND_HELP, Backend, Quiet, err, fail, out, shown


def evaluate_cmd(
    manifest: Annotated[Path, typer.Option(help="Manifest with a split column.")],
    run: Annotated[
        Path | None, typer.Argument(help="Run folder or checkpoint (default: the default detector).")
    ] = None,
    split: Annotated[str, typer.Option(help="train | val | test | all")] = "test",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Default: RUN/eval-SPLIT.")] = None,
    device: str = "auto",
    allow_seen: Annotated[bool, typer.Option(help="Evaluate even on images the model was fitted on.")] = False,
    backend: Annotated[Backend, typer.Option(help=BACKEND_HELP)] = Backend.auto,
    quiet: Quiet = False,
) -> None:
    """Accuracy, per-class report, confusion matrix, ROC-AUC and AP at the validation threshold."""
    from realorai.evaluation.evaluate import evaluate_run

    try:
        m = evaluate_run(
            run, manifest, split, output, device, show_progress=not quiet, allow_seen=allow_seen, backend=backend.value
        )
    except (FileNotFoundError, ValueError) as e:
        fail(str(e))
    out.print(
        f"[bold]{m['model']}[/] on {split} ({m['n']} images), threshold {m['threshold']:.3f} "
        f"from {m['threshold_source']}"
    )
    out.print(m["report"], highlight=False)
    out.print(
        f"accuracy {m['accuracy']:.3f}  real {m['accuracy_real']:.3f}  AI {m['accuracy_ai']:.3f}  "
        f"ROC-AUC {m['roc_auc']:.3f}  AP {m['average_precision']:.3f}"
    )
    out.print(f"confusion matrix (rows true real/ai, columns predicted): {m['confusion_matrix']}")
    for path, reason in m["unreadable"].items():
        err.print(f"unreadable {shown(path)}: {shown(reason)}", highlight=False)


def report_cmd(
    runs: Annotated[list[Path], typer.Argument(help="Run folders, each evaluated on SPLIT.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="report.html (a .md is written beside it).")] = Path(
        "report.html"
    ),
    split: str = "test",
) -> None:
    """Compare runs side by side: HTML with embedded plots, plus Markdown."""
    from realorai.evaluation.runs_report import write_report

    try:
        written = write_report(runs, output, split)
    except (FileNotFoundError, ValueError) as e:
        fail(str(e))
    out.print("wrote " + ", ".join(map(str, written)))


def reproduce_cmd(
    data: Annotated[Path, typer.Option(help="Folder-per-class dataset.")],
    output: Annotated[Path, typer.Option("-o", "--output")] = Path("runs/reproduce"),
    seed: int = 0,
    epochs: Annotated[int | None, typer.Option(help="Override every model's epochs (default: the report's).")] = None,
    precision: Annotated[str, typer.Option(help="fp32 | bf16 for training.")] = "fp32",
    quiet: Quiet = False,
) -> None:
    """Reproduce the report: scan, audit, split, train its models, evaluate, compare."""
    from realorai.evaluation.reproduce import reproduce

    try:
        result = reproduce(
            data, output, seed=seed, epochs=epochs, precision=precision, show_progress=not quiet, log=out.print
        )
    except (FileNotFoundError, ValueError) as e:
        fail(str(e))
    table = Table(
        "model",
        "acc",
        "real",
        "AI",
        "AUC",
        "AP",
        "thr",
        title="test split: accuracy, on real, on AI; ROC-AUC; AP; threshold (from val)",
    )
    table.columns[0].overflow = "fold"  # model names are never cut
    table.columns[0].min_width = max((len(Path(run).name) for run in result["runs"]), default=5)
    for run in result["runs"]:
        m = json.loads((Path(run) / "eval-test" / "metrics.json").read_text())
        table.add_row(
            m["model"],
            *(
                f"{m[k]:.3f}"
                for k in ("accuracy", "accuracy_real", "accuracy_ai", "roc_auc", "average_precision", "threshold")
            ),
        )
    out.print(table)
    for name, note in result["notes"].items():
        out.print(f"note on {name}: {note}")
    out.print(f"done in {result['total_s']:.0f} s; report: {', '.join(result['report'])}")
