"""``realorai predict`` and ``realorai inspect``: rows on the terminal, or a resumable scan into a file."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from realorai.cli.bank import learn_from_rows, open_bank
from realorai.cli.common import (
    BACKEND_HELP,
    EXIT_NOTHING,
    EXIT_OK,
    EXIT_PARTIAL,
    NETWORK_HELP,
    TRUST_HELP,
    Backend,
    Engine,
    Quiet,
    err,
    fail,
    shown,
)  # fmt: skip
from realorai.cli.options import BankLearn, BankOption, PixelsOnly, StreamOption, Verbose
from realorai.cli.render import print_rows


@dataclass(frozen=True)
class ScanOptions:
    """What predict and inspect pass on to the scoring, whichever way the rows leave."""

    model: Path | None = None
    provenance: bool = True
    c2pa_trust: str | None = None
    allow_network: bool = False
    heatmaps: Path | None = None
    batch_size: int = 32
    device: str = "auto"
    backend: str = "auto"
    quiet: bool = False
    verbose: bool = False
    bank: str | None = None  # a bank file whose pictures each image is matched against
    stream: str | None = None  # a stream of that bank whose newest version scores the pixels

    def analyze_kwargs(self, trust) -> dict:
        return {
            "bank": self.bank,
            "batch_size": self.batch_size,
            "provenance": self.provenance,
            "c2pa_trust": trust,
            "allow_network": self.allow_network,
            "heatmaps": self.heatmaps if self.heatmaps is not None else False,
        }


def predict_cmd(
    paths: Annotated[list[str], typer.Argument(help="Image files, folders or glob patterns.", metavar="PATH...")],
    model: Annotated[
        Path | None,
        typer.Option(help="Run folder or checkpoint (default: detector-clip-b16, or its fallback: docs/INSTALL.md)."),
    ] = None,
    pixels_only: PixelsOnly = False,
    evidence: Annotated[bool, typer.Option("--evidence", hidden=True, help="Provenance is read by default.")] = False,
    c2pa_trust: Annotated[str | None, typer.Option(help=TRUST_HELP)] = None,
    allow_network: Annotated[bool, typer.Option("--allow-network", help=NETWORK_HELP)] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines on stdout (one row per image).")] = False,
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
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Scan again into an --output that exists (replaced when done).")
    ] = False,
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
    bank: BankOption = None,
    bank_learn: BankLearn = False,
    stream: StreamOption = None,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """One verdict per image from all the evidence: verified provenance decides; otherwise the
    pixel detector's tier (likely AI / inconclusive / likely real, bounds measured on sources it
    never saw). Unreadable files are listed with the reason.

    With --output, a scan of any size: rows are committed in chunks as it goes, and a scan that
    was killed continues with --resume, each file ending in the output exactly once.

    Exit codes: 0 every image scored; 1 some could not be read (their rows say why); 2 usage
    error; 3 nothing scored (no image found, none readable, or the run could not finish)."""
    options = ScanOptions(
        model, not pixels_only, c2pa_trust, allow_network, heatmaps, batch_size, device, backend.value, quiet, verbose,
        open_bank(bank, bank_learn, pixels_only), stream,
    )  # fmt: skip
    _check_options(batch_size, chunk, output, as_json, as_csv, resume, overwrite)
    if stream is not None and (bank is None or model is not None or engine is Engine.ray):
        fail("--stream scores with a stream of the bank: give --bank FILE, and neither --model nor --engine ray")
    if evidence and pixels_only:
        fail("--evidence and --pixels-only contradict each other (provenance is read by default)")
    if engine is Engine.ray and heatmaps is not None:
        fail("--heatmaps writes files where the scoring runs: use the local engine for heatmaps")
    if output is not None:
        if bank_learn:
            fail("--bank-learn banks from the rows shown: run it without --output (or use `realorai bank add`)")
        _run_batch(paths, options, output, resume, overwrite, chunk, engine, ray_address)
        return
    if engine is Engine.ray:
        fail("--engine ray writes its rows to a file; give --output results.parquet")
    if resume or overwrite:
        fail(f"{'--resume' if resume else '--overwrite'} applies to an --output scan; give --output")
    _run_predict(paths, options, as_json, as_csv, learn=bank_learn)


MAX_BATCH = 1024  # images decoded and held at once by the report's classifiers (detectors run 16)


def _check_options(batch_size, chunk, output, as_json, as_csv, resume, overwrite) -> None:
    """Refuse values and combinations that would otherwise be ignored or fail deep inside."""
    if not 1 <= batch_size <= MAX_BATCH:
        fail(f"--batch-size must be 1 to {MAX_BATCH}, got {batch_size} (a batch of decoded images is held in memory)")
    if chunk < 1:
        fail(f"--chunk must be at least 1, got {chunk}")
    if as_json and as_csv:
        fail("--json and --csv both print the rows on stdout: choose one")
    if output is not None and (as_json or as_csv):
        flag = "--json" if as_json else "--csv"
        fail(f"{flag} prints the rows on stdout, -o writes them to {output} (its suffix sets the format): choose one")
    if resume and overwrite:
        fail("--resume continues a scan, --overwrite starts it again: choose one")


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


def _run_batch(paths, options: ScanOptions, output: Path, resume, overwrite, chunk, engine, ray_address) -> None:
    from realorai.device import device_name
    from realorai.inference.batch import run_batch
    from realorai.inference.detector import Detector
    from realorai.provenance import resolve

    try:
        trust = resolve(options.c2pa_trust)
        extra = _ray_options(options, ray_address) if engine is Engine.ray else {}
        if options.stream is not None:
            from realorai.inference.detector import stream_detector

            detector = stream_detector(options.bank, options.stream)
        else:
            detector = Detector.load(options.model, device_name(options.device), options.backend)
        summary = run_batch(
            paths,
            output,
            detector,
            resume=resume,
            overwrite=overwrite,
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
             "with --resume to finish", EXIT_NOTHING)  # fmt: skip
    if "files" in summary:
        _print_summary(summary, options.verbose)
        raise typer.Exit(_exit_code(summary["files"], len(summary["errors"])))


def _print_summary(summary: dict, verbose: bool) -> None:
    # The summary goes to stderr like the progress: stdout stays for rows.
    err.print(f"wrote {shown(summary['output'])}: {summary['files']} rows; verdicts {summary['by_verdict']}")
    _print_skipped(summary.get("skipped", []), verbose)
    errors = summary["errors"]
    err.print(f"{len(errors)} files could not be scored" + (":" if errors else ""))
    for path, reason in list(errors.items())[:20]:
        err.print(f"  {shown(path)}: {shown(reason)}", highlight=False)
    if len(errors) > 20:
        err.print(f"  ... and {len(errors) - 20} more (rows with an error in {shown(summary['output'])})")


def _print_skipped(skipped: list[str], verbose: bool) -> None:
    if not skipped:
        return
    sys.stdout.flush()  # after the rows, also when both streams go to one pipe
    s = "s" if len(skipped) != 1 else ""
    more = ":" if verbose else " (--verbose lists them)"
    err.print(f"{len(skipped)} file{s} without an image extension skipped{more}", highlight=False)
    if verbose:
        for f in skipped:
            err.print(f"  {shown(f)}", highlight=False)


def _exit_code(n_rows: int, n_errors: int) -> int:
    if n_rows == 0 or n_errors == n_rows:
        return EXIT_NOTHING
    return EXIT_PARTIAL if n_errors else EXIT_OK


def inspect_cmd(
    paths: Annotated[list[str], typer.Argument(help="Image files, folders or glob patterns.", metavar="PATH...")],
    model: Annotated[
        Path | None,
        typer.Option(help="Run folder or checkpoint for the pixel score (default: as for predict)."),
    ] = None,
    pixels_only: PixelsOnly = False,
    c2pa_trust: Annotated[str | None, typer.Option(help=TRUST_HELP)] = None,
    allow_network: Annotated[bool, typer.Option("--allow-network", help=NETWORK_HELP)] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines on stdout.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV on stdout.")] = False,
    backend: Annotated[Backend, typer.Option(help=BACKEND_HELP)] = Backend.auto,
    device: str = "auto",
    bank: BankOption = None,
    manifest: Annotated[
        bool, typer.Option("--manifest", help="Add each file's full C2PA manifest store, as c2pa-python validates it.")
    ] = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Every piece of evidence per image, one block each: the verdict and what it rests on, the
    pixel score and its tier, and every provenance finding (C2PA credentials, Stable Diffusion
    watermarks, generator metadata) with its strength.

    Exit codes: 0 every image scored; 1 some could not be read; 2 usage error; 3 nothing scored."""
    if as_json and as_csv:
        fail("--json and --csv both print the rows on stdout: choose one")
    options = ScanOptions(
        model, not pixels_only, c2pa_trust, allow_network, None, 32, device, backend.value, quiet, verbose,
        open_bank(bank, False, pixels_only),
    )  # fmt: skip
    if manifest and (pixels_only or as_csv):
        fail("--manifest adds the C2PA manifest store to each block or JSON row: not with --pixels-only or --csv")
    _run_predict(paths, options, as_json, as_csv, blocks=True, manifest=manifest)


def _run_predict(
    paths, options: ScanOptions, as_json: bool, as_csv: bool, blocks: bool = False, learn: bool = False,
    manifest: bool = False,
) -> None:  # fmt: skip
    from realorai.inference.predict import predict
    from realorai.provenance import resolve

    quiet = options.quiet or as_json or as_csv
    try:
        trust = resolve(options.c2pa_trust)
        kwargs = options.analyze_kwargs(trust)
        kwargs["heatmaps"] = options.heatmaps
        rows, found = predict(
            paths, options.model, device=options.device, show_progress=not quiet, backend=options.backend,
            stream=options.stream, **kwargs,
        )  # fmt: skip
    except (FileNotFoundError, ValueError) as e:
        fail(str(e))
    if manifest:
        from realorai.provenance.c2pa_evidence import manifest_store

        rows = [{**r, "manifest_store": manifest_store(r["path"], trust, options.allow_network)
                 if r["verdict"] != "error" else None} for r in rows]  # fmt: skip
    print_rows(rows, as_json, as_csv, blocks)
    if options.heatmaps is not None:  # say where the overlays went (on stderr: stdout holds the rows)
        n = sum(1 for r in rows if r.get("heatmap"))
        left = f" ({len(rows) - n} images have none: not scored)" if n < len(rows) else ""
        err.print(f"heatmaps: {n} overlay PNGs written to {shown(str(options.heatmaps))}{left}", highlight=False)
    if options.bank and learn:
        learn_from_rows(options.bank, options.c2pa_trust, rows)
    _print_skipped(found.skipped, options.verbose)
    raise typer.Exit(_exit_code(len(rows), sum(1 for r in rows if r["verdict"] == "error")))
