"""Evaluate a trained run on one split of a manifest; write metrics, predictions and plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from realorai.atomic import write_json, write_with
from realorai.data.manifest import load_manifest
from realorai.data.split import labels_of, usable_split
from realorai.device import device_name
from realorai.inference.detector import Detector
from realorai.metrics import binary_metrics, report_text
from realorai.models.checkpoint import seen_in
from realorai.plots import plot_confusion, plot_roc


def evaluate_run(
    run: str | Path | None,
    manifest: str | Path,
    split: str = "test",
    out_dir: str | Path | None = None,
    device: str = "auto",
    show_progress: bool = True,
    allow_seen: bool = False,
    backend: str = "auto",
) -> dict:
    """Score ``split`` of ``manifest`` with the run's best checkpoint (the shipped detector when
    ``run`` is None) at its validation threshold."""
    det = Detector.load(run, device_name(device), backend)
    meta = det.meta
    part = usable_split(load_manifest(manifest), split, manifest)
    if part.empty:
        raise ValueError(f"{manifest}: no usable images in split {split!r}")
    overlap = part[seen_in(meta, part["sha256"].astype(str))]
    if len(overlap) and not allow_seen:
        raise ValueError(
            f"{len(overlap)} of the {len(part)} images in split {split!r} were used to train or calibrate this "
            f"model (e.g. {overlap['path'].iloc[0]}): its figures would be meaningless. Evaluate on images it "
            "never saw (was the manifest re-split with another seed?), or pass --allow-seen to do it anyway."
        )
    paths = part["path"].tolist()
    y = labels_of(part)
    scores = det.score(paths, batch_size=32, show_progress=show_progress)
    probs, errors = scores.p_ai, scores.errors
    ok = ~np.isnan(probs)
    if not ok.any():
        raise ValueError(f"{manifest}: none of the {len(paths)} images in split {split!r} could be read")
    threshold = det.threshold
    metrics = binary_metrics(y[ok], probs[ok], threshold)
    metrics.update(
        model=meta["model"],
        split=split,
        manifest=str(manifest),
        threshold_source=meta.get("threshold_source", "default 0.5"),
        report=report_text(y[ok], probs[ok], threshold),
        unreadable=errors,
        seen_in_training=int(len(overlap)),
        checkpoint_saved_at=meta.get("saved_at"),
        backend=det.backend,
    )
    if run is None:
        out = Path(out_dir) if out_dir else Path("runs") / f"eval-default-{split}"
    else:
        run_dir = Path(run) if Path(run).is_dir() else Path(run).parent
        out = Path(out_dir) if out_dir else run_dir / f"eval-{split}"
    write_json(out / "metrics.json", metrics)
    preds = pd.DataFrame(
        {
            "path": paths,
            "label": part["label"].tolist(),
            "p_ai": probs,
            "predicted": np.where(~ok, "", np.where(probs >= threshold, "ai", "real")),
            "error": [errors.get(p, "") for p in paths],
        }
    )
    write_with(out / "predictions.csv", lambda p: preds.to_csv(p, index=False))
    plot_confusion(metrics["confusion_matrix"], out / "confusion.png", f"{meta['model']} ({split})")
    plot_roc(y[ok], probs[ok], out / "roc.png", metrics["roc_auc"], f"{meta['model']} ROC ({split})")
    return metrics
