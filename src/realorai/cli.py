"""The ``realorai`` command line: one entry point per job."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

app = typer.Typer(
    help="Tell AI-generated images from real photographs and artwork.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
data_app = typer.Typer(help="Datasets: scan, audit, split, overview.", no_args_is_help=True)
app.add_typer(data_app, name="data")
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]


class Engine(StrEnum):
    local = "local"
    ray = "ray"


class Backend(StrEnum):
    auto = "auto"
    torch = "torch"
    onnx = "onnx"


BACKEND_HELP = "auto: ONNX Runtime for a detector on the CPU (faster, measured), else torch; or force one."


def fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def main() -> None:
    """The console entry point: an unexpected error is one `error:` line, not a traceback
    (set REALORAI_DEBUG=1 to see the traceback)."""
    import os

    try:
        app()
    except Exception as e:
        if os.environ.get("REALORAI_DEBUG"):
            raise
        err.print(f"[bold red]error:[/] {escape(f'{type(e).__name__}: {e}')}", highlight=False)
        err.print("(unexpected; rerun with REALORAI_DEBUG=1 for the traceback and report it)", highlight=False)
        sys.exit(2)


# ---------------------------------------------------------------- data
@data_app.command("scan")
def data_scan(
    directory: Annotated[Path, typer.Argument(help="Dataset folder, one sub-folder per class.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Manifest to write (.parquet or .csv).")] = Path(
        "manifest.parquet"
    ),
    label_map: Annotated[
        str | None, typer.Option(help="Extra FOLDER=LABEL pairs, e.g. 'synthetic=ai,photos=real'.")
    ] = None,
    near_threshold: Annotated[int, typer.Option(help="Max phash bit distance for near duplicates.")] = 4,
    quiet: Quiet = False,
) -> None:
    """Record every file under DIRECTORY: label, hashes, size, format, status and reason."""
    from realorai.atomic import check_output_path
    from realorai.data.manifest import parse_label_map, save_manifest, scan, summary

    try:
        check_output_path(output)
        df = scan(directory, parse_label_map(label_map), near_threshold, show_progress=not quiet)
    except (FileNotFoundError, ValueError) as e:
        fail(str(e))
    save_manifest(df, output)
    s = summary(df)
    out.print(
        f"wrote {output}: {s['files']} files, by status {s['by_status']}, usable {s['usable_by_label']}, "
        f"{s['duplicate_groups']} duplicate groups, {s['label_conflict_files']} files in label conflicts"
    )
    for row in df[df["reason"] != ""].itertuples():
        err.print(f"  {row.status:<11} {escape(row.path)}: {escape(row.reason)}", highlight=False)


@data_app.command("audit")
def data_audit(
    manifest: Path,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="JSON file (default: MANIFEST.audit.json).")
    ] = None,
    seed: int = 0,
) -> None:
    """Per-class metadata distributions and how well metadata alone predicts the label."""
    from realorai.atomic import write_json
    from realorai.data.audit import audit
    from realorai.data.manifest import load_manifest

    try:
        result = audit(load_manifest(manifest), seed=seed)
    except FileNotFoundError as e:
        fail(str(e))
    output = output or manifest.with_suffix(".audit.json")
    write_json(output, result)
    for label, c in result["per_class"].items():
        out.print(
            f"[bold]{label}[/]: {c['images']} images, formats {c['format']}, {c['distinct_sizes']} distinct sizes, "
            f"width {c['width']}, aspect {c['aspect_ratio']}, JPEG quality {c['jpeg_quality']}, "
            f"EXIF {c['exif_fraction']:.0%}"
        )
    if "metadata_classifier" in result:
        out.print(
            f"metadata-only classifier: {result['metadata_classifier']['accuracy']:.1%} cross-validated accuracy "
            f"(majority baseline {result['majority_baseline']:.1%}); best single feature "
            f"{result['best_single_feature']['feature']} {result['best_single_feature']['accuracy']:.1%}"
        )
    for w in result["warnings"]:
        err.print(f"[bold red]WARNING:[/] {escape(w)}", highlight=False)
    out.print(f"wrote {escape(str(output))}")


@data_app.command("split")
def data_split(
    manifest: Path,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same split.")] = 0,
    ratios: Annotated[str, typer.Option(help="TRAIN/VAL/TEST percentages; the report used 80/0/20.")] = "70/10/20",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Default: update MANIFEST in place.")] = None,
) -> None:
    """Stratified train/validation/test split; duplicate groups never straddle splits."""
    from realorai.atomic import check_output_path
    from realorai.data.manifest import load_manifest, save_manifest
    from realorai.data.split import parse_ratios, split, split_counts

    try:
        check_output_path(output or manifest)
        df = split(load_manifest(manifest), seed=seed, ratios=parse_ratios(ratios))
    except (FileNotFoundError, ValueError) as e:
        fail(str(e))
    save_manifest(df, output or manifest)
    out.print(f"wrote {output or manifest}: {split_counts(df)}")


@data_app.command("overview")
def data_overview(
    manifest: Path,
    output: Annotated[Path, typer.Option("-o", "--output")] = Path("overview.png"),
    per_class: int = 8,
    seed: int = 0,
) -> None:
    """A PNG grid of sample images per class, with class counts."""
    from realorai.data.manifest import load_manifest
    from realorai.data.overview import sample_grid

    try:
        sample_grid(load_manifest(manifest), output, per_class, seed)
    except (FileNotFoundError, ValueError) as e:
        fail(str(e))
    out.print(f"wrote {escape(str(output))}")


# ---------------------------------------------------------------- models
@app.command("models")
def models_cmd() -> None:
    """List the registered models and their preprocessing."""
    from realorai.models import get_spec, list_models

    for name in list_models():
        s = get_spec(name)
        d = s.data_config
        out.print(
            f"[bold]{name}[/]\n    {s.description}\n    input {d.input_size}px {d.interpolation} {d.resize}, "
            f"mean {d.mean}, std {d.std}; preset {json.dumps(s.preset)}",
            highlight=False,
        )
    from realorai.checkpoint import read_meta
    from realorai.detector.api import default_weights

    try:
        path = default_weights()
        meta = read_meta(path)
    except (FileNotFoundError, ValueError) as e:
        err.print(f"no shipped default detector: {e}", highlight=False)
        return
    out.print(
        f"[bold]default[/] (used when no --model is given): {meta['model']} trained on "
        f"{', '.join(meta.get('train_datasets', []))}, threshold {meta['threshold']:.3f}; {path}",
        highlight=False,
    )


class Optim(StrEnum):
    adam = "adam"
    sgd = "sgd"


@app.command("train")
def train_cmd(
    model: Annotated[str, typer.Option(help="A name from `realorai models`.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Run folder.")],
    manifest: Annotated[list[Path] | None, typer.Option(help="Manifest with a split column (repeatable).")] = None,
    data: Annotated[
        list[Path] | None, typer.Option(help="Detectors: dataset folder to scan and split (repeatable).")
    ] = None,
    views: Annotated[int | None, typer.Option(help="Detectors: augmented crops per training image.")] = None,
    config: Annotated[Path | None, typer.Option(help="JSON or TOML file of training options.")] = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    optimizer: Optim | None = None,
    augment: Annotated[bool | None, typer.Option("--augment/--no-augment")] = None,
    aug_views: int | None = None,
    class_weighted: Annotated[bool | None, typer.Option("--class-weighted/--no-class-weighted")] = None,
    pretrained: Annotated[bool | None, typer.Option("--pretrained/--no-pretrained")] = None,
    seed: int | None = None,
    device: str | None = None,
    patience: int | None = None,
    precision: Annotated[str | None, typer.Option(help="fp32 | bf16 (bfloat16 autocast, faster on AMX CPUs).")] = None,
    resume: Annotated[bool, typer.Option(help="Continue the run in OUTPUT after an interruption.")] = False,
    quiet: Quiet = False,
) -> None:
    """Train a model; writes config, history, curves and best/last checkpoints to OUTPUT."""
    from realorai.models import get_spec
    from realorai.models.weights import WeightsUnavailableError
    from realorai.train import fit, resolve_config

    try:
        if get_spec(model).kind == "detector":
            from realorai.distributed import world_size

            if world_size() > 1:
                fail(f"{model} extracts frozen features and fits a convex head in one process; run it without torchrun")
            _train_detector(model, output, manifest or [], data or [], views, seed, batch_size, quiet)
            return
        if not manifest or len(manifest) != 1 or data:
            fail(f"{model} trains on one --manifest with a split column (--data is for detector models)")
        cfg = resolve_config(
            model,
            str(manifest[0]),
            config,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            optimizer=optimizer.value if optimizer else None,
            augment=augment,
            aug_views=aug_views,
            class_weighted=class_weighted,
            pretrained=pretrained,
            seed=seed,
            device=device,
            patience=patience,
            precision=precision,
        )
        summary = fit(cfg, output, resume=resume, show_progress=not quiet)
    except (KeyError, ValueError, FileNotFoundError, WeightsUnavailableError) as e:
        fail(str(e).strip("'\""))
    if summary.get("rank"):  # under torchrun, rank 0 reports
        return
    val = summary["val"]
    out.print(
        f"best epoch {summary['best_epoch']}/{summary['epochs_run']}; threshold {summary['threshold']:.3f} "
        f"({summary['threshold_source']}); val accuracy {val.get('accuracy', float('nan')):.3f}; wrote {output}"
    )


def _train_detector(model, output, manifests, data, views, seed, batch_size, quiet) -> None:
    from realorai.detector.fit import DetectorConfig, fit_detector

    overrides = {"views": views, "seed": seed, "batch_size": batch_size}
    cfg = DetectorConfig(
        model=model,
        data=tuple(str(d) for d in data),
        manifests=tuple(str(m) for m in manifests),
        **{k: v for k, v in overrides.items() if v is not None},
    )
    s = fit_detector(cfg, output, show_progress=not quiet, log=out.print)
    val = s["val"]
    out.print(
        f"{model}: C={s['C']:g}, temperature {s['temperature']:.3f}, threshold {s['threshold']:.3f} "
        f"({s['threshold_source']}); validation ROC-AUC {val.get('roc_auc', float('nan')):.3f}, "
        f"ECE {val.get('ece', float('nan')):.3f}; {s['train_seconds']:.0f} s; wrote {output}"
    )
    for name, m in s["test"].items():
        out.print(
            f"  test {name}: {m['n']} images, ROC-AUC {m['roc_auc']:.3f}, accuracy real {m['accuracy_real']:.3f} "
            f"AI {m['accuracy_ai']:.3f}, ECE {m['ece']:.3f}"
        )


@app.command("evaluate")
def evaluate_cmd(
    manifest: Annotated[Path, typer.Option(help="Manifest with a split column.")],
    run: Annotated[Path | None, typer.Argument(help="Run folder or checkpoint (default: shipped detector).")] = None,
    split: Annotated[str, typer.Option(help="train | val | test | all")] = "test",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Default: RUN/eval-SPLIT.")] = None,
    device: str = "auto",
    allow_seen: Annotated[bool, typer.Option(help="Evaluate even on images the model was fitted on.")] = False,
    quiet: Quiet = False,
) -> None:
    """Accuracy, per-class report, confusion matrix, ROC-AUC and AP at the validation threshold."""
    from realorai.evaluate import evaluate_run

    try:
        m = evaluate_run(run, manifest, split, output, device, show_progress=not quiet, allow_seen=allow_seen)
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
        err.print(f"unreadable {escape(path)}: {escape(reason)}", highlight=False)


@app.command("report")
def report_cmd(
    runs: Annotated[list[Path], typer.Argument(help="Run folders, each evaluated on SPLIT.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="report.html (a .md is written beside it).")] = Path(
        "report.html"
    ),
    split: str = "test",
) -> None:
    """Compare runs side by side: HTML with embedded plots, plus Markdown."""
    from realorai.report import write_report

    try:
        written = write_report(runs, output, split)
    except (FileNotFoundError, ValueError) as e:
        fail(str(e))
    out.print("wrote " + ", ".join(map(str, written)))


TRUST_HELP = (
    "C2PA trust anchors: a PEM file, or 'none' to skip trust checking. Default: the official C2PA "
    "conformance trust list bundled with realorai (credit: C2PA, conformance-public trust list, CC BY 4.0; "
    "`realorai trust show` gives its date, `realorai trust refresh` updates it)."
)
NETWORK_HELP = "Let C2PA fetch remote manifests and OCSP responses named by the image (off: no request is made)."
LOW_CONFIDENCE = "low confidence: smaller than the detector's crop, upsampled"


def _print_rows(rows: list[dict], as_json: bool, as_csv: bool) -> None:
    if as_json:
        for r in rows:
            sys.stdout.write(json.dumps(r) + "\n")
    elif as_csv:
        import csv

        fields = ["path", "p_ai", "verdict", "threshold", "error", "why"]
        if any("combined" in r for r in rows):
            fields += ["combined_verdict", "basis", "strong_findings"]
        w = csv.DictWriter(sys.stdout, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            c = r.get("combined") or {}
            strong = [f["what"] for f in r.get("findings", []) if f["strength"] == "strong"]
            w.writerow(
                {
                    **r,
                    "combined_verdict": c.get("verdict", ""),
                    "basis": c.get("basis", ""),
                    "strong_findings": " | ".join(strong),
                }
            )
    elif any("combined" in r for r in rows):
        for r in rows:  # one block per image: findings are sentences, not table cells
            out.print(f"[bold]{escape(r['path'])}[/]")
            if r["error"]:
                out.print(f"  [red]unreadable:[/] {escape(r['error'])}")
            pixels = (
                "no pixel model"
                if r["p_ai"] is None
                else (f"P(AI) {r['p_ai']:.3f} -> {r['verdict']} (threshold {r['threshold']:.3f})")
            )
            out.print(f"  pixels:   {pixels}" + (f" ({LOW_CONFIDENCE})" if r.get("low_confidence") else ""))
            c = r.get("combined")
            if c:
                if c["verdict"] == "conflict":
                    out.print(f"  combined: [bold]{escape(c['basis'])}[/]")
                else:
                    out.print(f"  combined: [bold]{c['verdict']}[/] by {escape(c['basis'])}")
            for f in r.get("findings", []):
                arrow = f" -> {f['points_to']}" if f["points_to"] else ""
                tag = escape(f"[{f['strength']}{arrow}]")
                out.print(f"  {tag} {f['source']}: {escape(f['what'])}")
            if not r.get("findings") and not r["error"]:
                out.print("  no provenance evidence found (absence proves nothing: most uploads strip it)")
    else:
        table = Table("file", "verdict", "P(AI)", "note")
        table.columns[0].overflow = table.columns[3].overflow = "fold"  # never cut a path or a reason
        for r in rows:
            p = "" if r["p_ai"] is None else f"{r['p_ai']:.3f}"
            note = r["error"] or (LOW_CONFIDENCE if r.get("low_confidence") else "")
            table.add_row(escape(r["path"]), r["verdict"], p, escape(note))
        out.print(table)


@app.command("predict")
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
    if engine is Engine.ray and heatmaps is not None:
        fail("--heatmaps writes files where the scoring runs: use the local engine for heatmaps")
    if output is not None:
        _run_batch(paths, model, output, resume, chunk, evidence, pixels_only, c2pa_trust, allow_network, heatmaps,
                   batch_size, device, quiet, backend.value, engine, ray_address)  # fmt: skip
        return
    if engine is Engine.ray:
        fail("--engine ray writes its rows to a file; give --output results.parquet")
    if resume:
        fail("--resume continues an --output scan; give --output")
    _run_predict(
        paths, model, evidence, pixels_only, c2pa_trust, allow_network, as_json, as_csv, batch_size, device, quiet,
        heatmaps, backend.value,
    )  # fmt: skip


def _run_batch(
    paths, model, output, resume, chunk, evidence, pixels_only, c2pa_trust, allow_network, heatmaps, batch_size,
    device, quiet, backend, engine=None, ray_address=None,
) -> None:  # fmt: skip
    from realorai.batch import run_batch
    from realorai.detector.api import Detector
    from realorai.provenance import DEFAULT
    from realorai.provenance.trust import resolve
    from realorai.train import pick_device

    try:
        trust = DEFAULT if c2pa_trust is None else resolve(c2pa_trust)
        options = {}
        if engine is Engine.ray:
            from functools import partial

            try:
                from realorai.ray_engine import list_sources, ray_chunks
            except ImportError:
                fail("--engine ray needs Ray: pip install 'realorai[ray]'")
            model_arg = None if model is None else str(model)
            options = {"engine": partial(ray_chunks, model=model_arg, backend=backend, address=ray_address,
                                         actors=None), "list_inputs": list_sources}  # fmt: skip
        detector = Detector.load(model, pick_device(device), backend)
        summary = run_batch(
            paths,
            output,
            detector,
            resume=resume,
            chunk=chunk,
            show_progress=not quiet,
            log=lambda m: err.print(escape(m), highlight=False),
            batch_size=batch_size,
            evidence=evidence,
            pixels_only=pixels_only,
            c2pa_trust=trust,
            allow_network=allow_network,
            heatmaps=heatmaps if heatmaps is not None else False,
            **options,
        )
    except KeyboardInterrupt:
        fail(f"interrupted: the chunks written so far are kept; rerun with --resume to finish {output}", 130)
    except (FileNotFoundError, ValueError) as e:
        fail(str(e))
    if "files" not in summary:
        return
    out.print(f"wrote {escape(summary['output'])}: {summary['files']} rows; by verdict {summary['by_verdict']}")
    if "by_combined_verdict" in summary:
        out.print(f"combined verdicts: {summary['by_combined_verdict']}")
    errors = summary["errors"]
    out.print(f"{len(errors)} files could not be scored" + (":" if errors else ""))
    for path, reason in list(errors.items())[:20]:
        out.print(f"  {escape(path)}: {escape(reason)}", highlight=False)
    if len(errors) > 20:
        out.print(f"  ... and {len(errors) - 20} more (rows with an error in {escape(summary['output'])})")


@app.command("inspect")
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
    _run_predict(
        paths, model, True, pixels_only, c2pa_trust, allow_network, as_json, as_csv, 32, device, quiet, None,
        backend.value,
    )  # fmt: skip


def _run_predict(
    paths, model, evidence, pixels_only, c2pa_trust, allow_network, as_json, as_csv, batch_size, device, quiet,
    heatmaps=None, backend="auto",
) -> None:  # fmt: skip
    from realorai.predict import predict
    from realorai.provenance import DEFAULT
    from realorai.provenance.trust import resolve

    try:
        trust = DEFAULT if c2pa_trust is None else resolve(c2pa_trust)
        rows = predict(
            paths,
            model,
            batch_size,
            device,
            show_progress=not quiet and not (as_json or as_csv),
            evidence=evidence,
            pixels_only=pixels_only,
            c2pa_trust=trust,
            allow_network=allow_network,
            heatmaps=heatmaps,
            backend=backend,
        )
    except (FileNotFoundError, ValueError) as e:
        fail(str(e))
    _print_rows(rows, as_json, as_csv)
    if rows and all(r["error"] for r in rows):
        raise typer.Exit(1)


@app.command("reproduce")
def reproduce_cmd(
    data: Annotated[Path, typer.Option(help="Folder-per-class dataset.")],
    output: Annotated[Path, typer.Option("-o", "--output")] = Path("runs/reproduce"),
    seed: int = 0,
    epochs: Annotated[int | None, typer.Option(help="Override every model's epochs (default: the report's).")] = None,
    precision: Annotated[str, typer.Option(help="fp32 | bf16 for training.")] = "fp32",
    quiet: Quiet = False,
) -> None:
    """Reproduce the report: scan, audit, split, train its models, evaluate, compare."""
    from realorai.reproduce import reproduce

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


from realorai import cli_bench, cli_export, cli_serve, cli_trust  # noqa: E402,F401  (register the other commands)

if __name__ == "__main__":
    app()
