"""``realorai data scan|audit|split|overview``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from realorai.cli.common import EXIT_NOTHING, EXIT_PARTIAL, App, Quiet, err, fail, out, shown

NOT_IMAGE_TYPE = "not an image file type"  # data.manifest's reason for a file that is no image at all

app = App(help="Datasets: scan, audit, split, overview.", no_args_is_help=True)


@app.command("scan")
def data_scan(
    directory: Annotated[Path, typer.Argument(help="Dataset folder, one sub-folder per class.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Manifest to write (.parquet or .csv).")] = Path(
        "manifest.parquet"
    ),
    label_map: Annotated[
        str | None, typer.Option(help="Extra FOLDER=LABEL pairs, e.g. 'synthetic=ai,photos=real'.")
    ] = None,
    near_threshold: Annotated[
        int, typer.Option(min=0, max=31, help="Most PDQ bits (of 256) two near duplicates differ in.")
    ] = 31,
    quiet: Quiet = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="List the files skipped (not images).")] = False,
) -> None:
    """Record every file under DIRECTORY: label, hashes, size, format, status and reason.

    Exit codes: 0 every image readable; 1 some images could not be read (listed); 2 usage error;
    3 no image found (nothing written)."""
    from realorai.atomic import check_output_path
    from realorai.data.manifest import parse_label_map, save_manifest, scan, summary

    try:
        check_output_path(output)
        df = scan(directory, parse_label_map(label_map), near_threshold, show_progress=not quiet)
    except (FileNotFoundError, ValueError) as e:
        fail(str(e))
    skipped = df["reason"].str.startswith(NOT_IMAGE_TYPE)
    broken = df["status"].isin(["corrupt", "unsupported"]) & ~skipped
    if not (~skipped).any():
        what = f"{int(skipped.sum())} other files" if skipped.any() else "no files"
        fail(f"{directory}: no image files found ({what}); nothing written", EXIT_NOTHING)
    save_manifest(df, output)
    s = summary(df)
    out.print(
        f"wrote {output}: {s['files']} files, by status {s['by_status']}, usable {s['usable_by_label']}, "
        f"{s['duplicate_groups']} duplicate groups, {s['label_conflict_files']} files in label conflicts"
    )
    for row in df[(df["reason"] != "") & ~skipped].itertuples():
        err.print(f"  {row.status:<11} {shown(row.path)}: {shown(row.reason)}", highlight=False)
    if skipped.any():
        err.print(f"{int(skipped.sum())} files are not images: kept in the manifest as unsupported, never used"
                  + (":" if verbose else " (--verbose lists them)"), highlight=False)  # fmt: skip
        if verbose:
            for path in df.loc[skipped, "path"]:
                err.print(f"  {shown(path)}", highlight=False)
    if broken.any():
        raise typer.Exit(EXIT_PARTIAL)


@app.command("audit")
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
        err.print(f"[bold red]WARNING:[/] {shown(w)}", highlight=False)
    out.print(f"wrote {shown(str(output))}")


@app.command("split")
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


@app.command("overview")
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
    out.print(f"wrote {shown(str(output))}")


@app.command("reconstruct")
def data_reconstruct(
    folders: Annotated[
        list[Path], typer.Argument(help="Folders of real images (files under an ai/ folder are skipped).")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="Dataset folder to write: real/, ai/, pairs.csv.")],
    weights: Annotated[
        Path | None, typer.Option(help="Folder with taef2_encoder.pth and taef2_decoder.pth (default: the cache).")
    ] = None,
    max_side: Annotated[int, typer.Option(help="Crop each real image to at most this many pixels a side.")] = 512,
    download: Annotated[
        bool, typer.Option("--download", help="Fill the cache from the upstream repository first (needs the internet).")
    ] = False,
    quiet: Quiet = False,
) -> None:
    """Aligned pairs: each real image and its reconstruction by the taef2 autoencoder (MIT), for training."""
    from realorai.detector.autoencoder import download_weights
    from realorai.detector.pairs import reconstruct_folders

    if max_side < 64:
        fail(f"--max-side must be at least 64, got {max_side}")
    try:
        if download:
            weights = weights or download_weights()
        result = reconstruct_folders(
            folders, output, weights, max_side, show_progress=not quiet, log=lambda m: err.print(shown(m))
        )
    except (FileNotFoundError, ValueError, OSError) as e:
        fail(str(e))
    out.print(f"wrote {result['pairs']} pairs to {shown(result['output'])}; {len(result['skipped'])} images skipped")
