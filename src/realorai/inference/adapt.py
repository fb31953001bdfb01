"""``realorai adapt``: a few confirmed examples of one source -> a head adapted to that source.

The examples are scanned like a dataset (hashes, near-duplicate groups, format), their features
read from the base detector (clean crops, plus augmented one-crop views so that the head does not
learn one file's processing), and ``detector.adapt.adapt_head`` fits the head toward the base
detector's own, choosing the pull by grouped cross-validation. What the user can expect comes
from that cross-validation, and so do the adapted model's P(AI) and tiers. Output folder:
``adapted.safetensors`` (usable wherever a model is: ``--model DIR``), ``adapt_report.json``,
``examples.csv`` and ``MODEL_CARD.md``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from realorai.atomic import folder_lock, write_json, write_text
from realorai.detector.adapt import Examples, adapt_head, prior_from_state
from realorai.detector.augment import AugmentConfig
from realorai.detector.score import image_features
from realorai.inference.adapt_report import checkpoint_meta, make_report, model_card
from realorai.inference.detector import Detector, default_weights, is_safetensors
from realorai.inference.rows import printable, raw_hex
from realorai.limits import MAX_ADAPT_VIEWS as MAX_VIEWS
from realorai.models.checkpoint import ADAPTED, ADAPTED_FORMAT, resolve_checkpoint, save_adapted

MAX_LISTED = 10  # files named in a log message per kind of problem
VIEWS = 4  # augmented views per example (rescale, crop, flip, blur, JPEG: the training recipe's chain)
FROZEN_BUILDER = "realorai.detector.network:build"  # the designs whose features a head is adapted on


def scan_examples(examples: pd.DataFrame, show_progress: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The examples (path, label, origin) with hashes, format and near-duplicate groups; files that
    cannot be read or are exact copies of another are dropped (and counted)."""
    from realorai.data.manifest import printable_path, scan_files, usable

    df = scan_files([Path(p) for p in examples["path"]], examples["label"].tolist(), show_progress=show_progress)
    # The scan names a file that is not UTF-8 by its printable form (and leaves it out, as data scan does).
    origins = pd.DataFrame({"path": [printable_path(Path(p)) for p in examples["path"]],
                            "origin": examples["origin"].astype(str).tolist()})  # fmt: skip
    df = df.merge(origins.drop_duplicates("path"), on="path", how="left")
    good = usable(df)
    return good.assign(y=(good["label"] == "ai").astype(int)).reset_index(drop=True), df[~df.index.isin(good.index)]


def check_base(base_path: str | Path | None) -> Path:
    """The base checkpoint, checked before any feature work: a frozen detector's safetensors file
    (not an adapted head, an ONNX graph or another design), else a ValueError saying what it is."""
    from realorai.models import get_spec
    from realorai.models.checkpoint import checkpoint_format, read_meta

    path = default_weights() if base_path is None else resolve_checkpoint(base_path)
    if not is_safetensors(path):
        raise ValueError(f"{path}: not a safetensors checkpoint (an ONNX graph or another file): adapting needs "
                         "the frozen detector's checkpoint, e.g. its run folder")  # fmt: skip
    if checkpoint_format(path) == ADAPTED_FORMAT:
        raise ValueError(f"{path}: an adapted head (written by realorai adapt), not a detector; adapt from the "
                         "detector it was adapted on (its adapt_report.json names the base)")  # fmt: skip
    meta = read_meta(path)
    try:
        spec = get_spec(meta["model"])
    except KeyError:
        raise ValueError(f"{path}: names model {meta.get('model')!r}, which this realorai does not know") from None
    if spec.builder != FROZEN_BUILDER:
        raise ValueError(f"{path}: heads are adapted on a frozen detector's features (detector-lite0-early, "
                         f"-pooled, -multiscale, -npr), not on {meta['model']}")  # fmt: skip
    return path


def base_prior(base: Detector, base_path: str | Path | None):
    """The base detector's own head, the prior the adapted head is pulled toward."""
    from safetensors.numpy import load_file

    path = default_weights() if base_path is None else resolve_checkpoint(base_path)
    if base.kind != "detector" or not getattr(base.model, "num_features", 0):
        raise ValueError(
            f"{path}: heads are adapted on a frozen detector's features (detector-lite0-*), not on {base.name}"
        )
    try:
        return prior_from_state(load_file(str(path)), base.meta)
    except Exception as e:  # a checkpoint of another design
        raise ValueError(f"{path}: adapting needs the frozen detector's checkpoint (.safetensors): {e}") from e


def extractor_for(name: str):
    """A feature extractor by name, or a ValueError saying what to install."""
    from realorai.features import ExtractorUnavailable, create_extractor

    try:
        return create_extractor(name)
    except ExtractorUnavailable as e:
        raise ValueError(f"--features {name}: {e}") from e


def neutral_prior(x: np.ndarray):
    """For features with no prior head: standardised on the examples, pulled toward zero weights."""
    from realorai.detector.adapt import LinearHead

    mu, sigma = x.mean(0), x.std(0)
    return LinearHead(mu, np.where(sigma > 1e-6, sigma, 1.0), np.zeros(x.shape[1]), 0.0)


def say_unusable(dropped: pd.DataFrame, log) -> None:
    """Examples the scan could not use (missing, unreadable, exact copies), said on the terminal."""
    if dropped.empty:
        return
    counts = dropped["status"].value_counts().to_dict()
    log(f"{len(dropped)} examples left out ({', '.join(f'{n} {k}' for k, n in counts.items())}):")
    for r in dropped.head(MAX_LISTED).itertuples():
        log(f"  {r.path}: {r.reason or r.status}")
    if len(dropped) > MAX_LISTED:
        log(f"  ... and {len(dropped) - MAX_LISTED} more (adapt_report.json lists them)")


def say_seen(df: pd.DataFrame, base, log) -> int:
    """Warn when examples are files the base detector was trained or calibrated on: adapting to a
    source the base already learned shows little gain, and its figures say nothing about a new one."""
    from realorai.models.checkpoint import seen_in

    seen = sum(seen_in(base.meta, df["sha256"].tolist()))
    if seen:
        log(f"warning: {seen} of {len(df)} examples are files the base detector ({base.name}) was trained or "
            "calibrated on: it has seen this source already, so adapting shows little and its cross-validated "
            "figures are no measure of a source it never saw (give --base a detector trained without "
            "them)")  # fmt: skip
    return seen


def _both_classes(df: pd.DataFrame, dropped: pd.DataFrame) -> None:
    if df["y"].nunique() < 2:
        have = f"{int(df['y'].sum())} AI and {int((1 - df['y']).sum())} real usable examples"
        lost = f"; {len(dropped)} more were left out (above)" if len(dropped) else ""
        raise ValueError(f"adapting needs examples of both classes (ai and real): {have}{lost}")


def examples_csv(df: pd.DataFrame) -> str:
    """examples.csv: names printable (a name that is not UTF-8 escaped, its bytes in path_raw_hex)."""
    table = df[["path", "label", "origin", "sha256", "dup_group", "format"]].copy()
    table["path_raw_hex"] = table["path"].map(raw_hex)
    table["path"] = table["path"].map(printable)
    table["origin"] = table["origin"].astype(str).map(printable)
    return table.to_csv(index=False)


def adapt(
    examples: pd.DataFrame,
    out: str | Path,
    base_path: str | Path | None = None,
    views: int = VIEWS,
    seed: int = 0,
    name: str = "",
    show_progress: bool = True,
    log=print,
    evidence_dropped: list[dict] | None = None,
    features: str = "early",
) -> dict:
    """Adapt the base detector (the shipped one when None) to the source of ``examples`` (columns
    path, label "ai"/"real", origin) and write the adapted model into ``out``; returns the report.
    ``evidence_dropped``: scan rows whose claimed provenance did not verify (for the report).
    ``features``: ``early`` (the base detector's own, its head the prior) or an extractor of
    ``realorai.features`` (e.g. ``clip-b16``; no prior head exists there: the pull is toward zero)."""
    out = Path(out)
    t0 = time.perf_counter()
    if not 0 <= views <= MAX_VIEWS:
        raise ValueError(f"views must be 0 to {MAX_VIEWS}, got {views}")
    check_base(base_path)
    with folder_lock(out):
        base = Detector.load(base_path)
        extractor, prior = (base.model, base_prior(base, base_path)) if features == "early" else (
            extractor_for(features), None)  # fmt: skip
        df, dropped = scan_examples(examples, show_progress)
        say_unusable(dropped, log)
        _both_classes(df, dropped)
        seen = say_seen(df, base, log)
        x, xv, errors = image_features(extractor, df["path"].tolist(), views, AugmentConfig(), seed, show_progress)
        keep = np.isfinite(x).all(1)
        if not keep.all():
            log(f"{int((~keep).sum())} examples could not be read and are left out:")
            for p in df["path"][~keep].head(MAX_LISTED):
                log(f"  {p}: {errors.get(p, 'unreadable')}")
        df, x = df[keep].reset_index(drop=True), x[keep]
        _both_classes(df, dropped)
        xv = xv.reshape(views, len(keep), -1)[:, keep] if views else np.zeros((0, len(df), x.shape[1]))
        rows = np.concatenate([x, *xv])
        y = np.tile(df["y"].to_numpy(), 1 + views)
        groups = np.tile(df["dup_group"].astype(str).to_numpy(), 1 + views)
        clean = np.r_[np.ones(len(df), bool), np.zeros(views * len(df), bool)]
        fit = adapt_head(Examples(rows, y, groups, clean), prior if prior is not None else neutral_prior(x), seed=seed)
        report = make_report(df, fit, dropped, errors, base, base_path, views, name, time.perf_counter() - t0)
        report["examples"]["seen_by_base"] = seen
        report["features"] = extractor.describe() if features != "early" else {"name": "early"}
        report["examples"]["evidence_dropped"] = [{k: printable(str(v)) for k, v in d.items()}
                                                  for d in evidence_dropped or []]  # fmt: skip
        arrays = {"mu": fit.head.mu, "sigma": fit.head.sigma, "w": fit.head.w}
        save_adapted(out / ADAPTED, arrays, checkpoint_meta(report, fit, base, df, extractor))
        write_text(out / "examples.csv", examples_csv(df))
        write_json(out / "adapt_report.json", report)
        write_text(out / "MODEL_CARD.md", model_card(report))
    return report
