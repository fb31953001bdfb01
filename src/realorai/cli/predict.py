"""``realorai predict`` and ``realorai inspect``: rows on the terminal, or a resumable scan into a file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from realorai.cli.common import BACKEND_HELP, NETWORK_HELP, TRUST_HELP, Backend, Engine, Quiet, err, fail, out, shown
from realorai.cli.render import print_rows


@dataclass(frozen=True)
class ScanOptions:
    """What predict and inspect pass on to the scoring, whichever way the rows leave."""

    model: Path | None = None
    evidence: bool = False
    pixels_only: bool = False
    c2pa_trust: str | None = None
    allow_network: bool = False
    heatmaps: Path | None = None
    batch_size: int = 32
    device: str = "auto"
    backend: str = "auto"
    quiet: bool = False

    def analyze_kwargs(self, trust) -> dict:
        return {
            "batch_size": self.batch_size,
            "evidence": self.evidence,
            "pixels_only": self.pixels_only,
            "c2pa_trust": trust,
            "allow_network": self.allow_network,
            "heatmaps": self.heatmaps if self.heatmaps is not None else False,
        }


def predict_cmd(
    paths: Annotated[list[str], typer.Argument(help="Image files, folders or glob patterns.")],
    model: Annotated[
        Path | None, typer.Option(help="Run folder or checkpoint (default: the shipped detector).")
    ] = None,
    evidence: Annotated[bool, typer.Option("--evidence", help="Add C2PA, watermark and metadata findings.")] = False,
    pixels_only: Annotated[bool, typer.Option("--pixels-only", help="Combined verdict ignores provenance.")] = False,
    c2pa_trust: Annotated[str | None, typer.Option(help=TRUST_HELP)] = None,
    allow_network: Annotated[bool, typer.Option("--allow-network", help=NETWORK_HELP)] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines on stdout.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV on stdout.")] = False,
    heatmaps: Annotated[
        Path | None, typer.Option(help="Write a PNG overlay of per-region P(AI) per image into this folder.")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="Write rows to .parquet/.csv/.jsonl as the scan goes (committed in chunks)."
        ),
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted --output scan.")] = False,
    chunk: Annotated[int, typer.Option(help="Images per committed chunk with --output.")] = 256,
    backend: Annotated[Backend, typer.Option(help=BACKEND_HELP)] = Backend.auto,
    engine: Annotated[
        Engine, typer.Option(help="With --output: local (this process) or ray (Ray Data actors; needs the ray extra).")
    ] = Engine.local,
    ray_address: Annotated[
        str | None, typer.Option(help="Ray cluster to join (e.g. ray://head:10001; default $RAY_ADDRESS or local).")
    ] = None,
    batch_size: int = 32,
    device: str = "auto",
    quiet: Quiet = False,
) -> None:
    """P(AI) and a verdict per image; unreadable files are listed with the reason.

    With --output, a scan of any size: rows are committed in chunks as it goes, and a scan that
    was killed continues with --resume, each file ending in the output exactly once."""
    options = ScanOptions(
        model, evidence, pixels_only, c2pa_trust, allow_network, heatmaps, batch_size, device, backend.value, quiet
    )
    _check_options(batch_size, chunk, output, as_json, as_csv)
    if engine is Engine.ray and heatmaps is not None:
        fail("--heatmaps writes files where the scoring runs: use the local engine for heatmaps")
    if output is not None:
        _run_batch(paths, options, output, resume, chunk, engine, ray_address)
        return
    if engine is Engine.ray:
        fail("--engine ray writes its rows to a file; give --output results.parquet")
    if resume:
        fail("--resume continues an --output scan; give --output")
    _run_predict(paths, options, as_json, as_csv)


def _check_options(batch_size: int, chunk: int, output: Path | None, as_json: bool, as_csv: bool) -> None:
    """Refuse values and combinations that would otherwise be ignored or fail deep inside."""
    if batch_size < 1:
        fail(f"--batch-size must be at least 1, got {batch_size}")
    if chunk < 1:
        fail(f"--chunk must be at least 1, got {chunk}")
    if as_json and as_csv:
        fail("--json and --csv both print the rows on stdout: choose one")
    if output is not None and (as_json or as_csv):
        flag = "--json" if as_json else "--csv"
        fail(f"{flag} prints the rows on stdout, -o writes them to {output} (its suffix sets the format): choose one")


def _ray_options(options: ScanOptions, ray_address: str | None) -> dict:
    from functools import partial

    try:
        from realorai.inference.ray_engine import list_sources, ray_chunks
    except ImportError:
        fail("--engine ray needs Ray: pip install 'realorai[ray]'")
    model = None if options.model is None else str(options.model)
    engine = partial(
        ray_chunks, model=model, backend=options.backend, address=ray_address, actors=None, quiet=options.quiet
    )
    return {"engine": engine, "list_inputs": list_sources}


def _run_batch(paths, options: ScanOptions, output: Path, resume: bool, chunk: int, engine, ray_address) -> None:
    from realorai.device import device_name
    from realorai.inference.batch import run_batch
    from realorai.inference.detector import Detector
    from realorai.provenance import resolve

    try:
        trust = resolve(options.c2pa_trust)
        extra = _ray_options(options, ray_address) if engine is Engine.ray else {}
        detector = Detector.load(options.model, device_name(options.device), options.backend)
        summary = run_batch(
            paths,
            output,
            detector,
            resume=resume,
            chunk=chunk,
            show_progress=not options.quiet,
            log=lambda m: err.print(shown(m), highlight=False),
            **options.analyze_kwargs(trust),
            **extra,
        )
    except KeyboardInterrupt:
        fail(f"interrupted: the chunks written so far are kept; rerun with --resume to finish {output}", 130)
    except (FileNotFoundError, ValueError) as e:
        fail(str(e))
    except OSError as e:  # a full disk, a folder that became read-only...
        fail(f"cannot write {output}: {e.strerror or e}; the chunks written so far are kept: fix that and rerun "
             "with --resume to finish")  # fmt: skip
    if "files" in summary:
        _print_summary(summary)


def _print_summary(summary: dict) -> None:
    out.print(f"wrote {shown(summary['output'])}: {summary['files']} rows; by verdict {summary['by_verdict']}")
    if "by_combined_verdict" in summary:
        out.print(f"combined verdicts: {summary['by_combined_verdict']}")
    errors = summary["errors"]
    out.print(f"{len(errors)} files could not be scored" + (":" if errors else ""))
    for path, reason in list(errors.items())[:20]:
        out.print(f"  {shown(path)}: {shown(reason)}", highlight=False)
    if len(errors) > 20:
        out.print(f"  ... and {len(errors) - 20} more (rows with an error in {shown(summary['output'])})")


def inspect_cmd(
    paths: Annotated[list[str], typer.Argument(help="Image files, folders or glob patterns.")],
    model: Annotated[
        Path | None, typer.Option(help="Run folder or checkpoint for the pixel score (default: the shipped detector).")
    ] = None,
    pixels_only: Annotated[bool, typer.Option("--pixels-only", help="Combined verdict ignores provenance.")] = False,
    c2pa_trust: Annotated[str | None, typer.Option(help=TRUST_HELP)] = None,
    allow_network: Annotated[bool, typer.Option("--allow-network", help=NETWORK_HELP)] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines on stdout.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV on stdout.")] = False,
    backend: Annotated[Backend, typer.Option(help=BACKEND_HELP)] = Backend.auto,
    device: str = "auto",
    quiet: Quiet = False,
) -> None:
    """Evidence beyond pixels: C2PA credentials, Stable Diffusion watermarks, generator metadata."""
    options = ScanOptions(model, True, pixels_only, c2pa_trust, allow_network, None, 32, device, backend.value, quiet)
    _run_predict(paths, options, as_json, as_csv)


def _run_predict(paths, options: ScanOptions, as_json: bool, as_csv: bool) -> None:
    from realorai.inference.analyze import predict
    from realorai.provenance import resolve

    quiet = options.quiet or as_json or as_csv
    try:
        kwargs = options.analyze_kwargs(resolve(options.c2pa_trust))
        kwargs["heatmaps"] = options.heatmaps
        rows = predict(
            paths, options.model, device=options.device, show_progress=not quiet, backend=options.backend, **kwargs
        )
    except (FileNotFoundError, ValueError) as e:
        fail(str(e))
    print_rows(rows, as_json, as_csv)
    if rows and all(r["error"] for r in rows):
        raise typer.Exit(1)
