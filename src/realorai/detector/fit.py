"""Training the detector: features of augmented native-resolution crops from a frozen backbone,
a logistic-regression head chosen on validation data, temperature scaling and a threshold fitted
on validation data, then a self-describing checkpoint.

The pipeline streams images from disk (DataLoader workers decode and augment); features go to
float16 memory-mapped files in the run folder, so RAM does not grow with the dataset.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from realorai import distributed
from realorai.atomic import check_resume_settings, folder_lock, write_json, write_with
from realorai.data.manifest import load_manifest, save_manifest, scan
from realorai.data.split import labels_of, parse_ratios, split, usable_split
from realorai.detector.augment import AugmentConfig
from realorai.detector.crops import plan_of
from realorai.detector.dataset import CropDataset
from realorai.detector.features import crop_features
from realorai.detector.head import Head, calibrate, consistent_mask, fit_head_arrays, load_into, predict_logits
from realorai.detector.oos import calibrated_threshold, fold_logits, fold_platt_into, reliability
from realorai.metrics import binary_metrics, expected_calibration_error, roc_auc_or_nan
from realorai.models import create_model, get_spec
from realorai.models.checkpoint import BEST, save_checkpoint, seen_prefixes

DEFAULT_DETECTOR = "detector-lite0-early"  # chosen by cross-dataset AUC: docs/DETECTOR.md


@dataclass(frozen=True)
class DetectorConfig:
    model: str = DEFAULT_DETECTOR
    data: tuple[str, ...] = ()  # dataset folders, scanned and split into the run folder
    manifests: tuple[str, ...] = ()  # or manifests that already have a split column
    views: int = 4  # augmented crops per training image, besides the clean crops
    c_grid: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
    seed: int = 0
    ratios: str = "70/10/20"
    batch_size: int = 16
    workers: int = 2
    min_val_per_class: int = 10  # fewer validation images of a class: threshold 0.5, with a warning (metrics.py)
    augment: AugmentConfig = field(default_factory=AugmentConfig)  # frozen designs (end to end: NEUTRAL_CHAIN)
    # Frozen designs: keep only features whose direction agrees in every training set (head.consistent_mask).
    consistent_margin: float | None = None
    # End-to-end designs (no frozen backbone) only:
    epochs: int = 8
    lr: float = 2e-3
    train_crop: int = 128  # the random crop trained on (the network is fully convolutional)
    e2e_augment: AugmentConfig | None = None  # None: augment.NEUTRAL_CHAIN
    device: str = "auto"
    precision: str = "fp32"  # fp32 | bf16

    def to_dict(self) -> dict:
        return asdict(self)


def dataset_parts(cfg: DetectorConfig, out: Path, show_progress: bool, log=print, reuse: bool = False) -> pd.DataFrame:
    """Usable rows of every dataset with columns path, label, y, dataset, split. Each folder is
    scanned and split once, into ``out/manifests``; ``reuse`` reads those (a resumed run, or the
    other ranks under torchrun) so that every process trains on the same split."""
    frames = []
    for folder in cfg.data:
        name = Path(folder).name
        saved = out / "manifests" / f"{name}.parquet"
        if reuse and saved.is_file():
            df = load_manifest(saved)
        else:
            log(f"scanning {folder}")
            df = split(scan(folder, show_progress=show_progress), seed=cfg.seed, ratios=parse_ratios(cfg.ratios))
            save_manifest(df, saved)
        frames.append(usable_split(df, "all").assign(dataset=name))
    for m in cfg.manifests:
        frames.append(usable_split(load_manifest(m), "all", m).assign(dataset=Path(m).stem))
    if not frames:
        raise ValueError("no training data: give dataset folders (--data) or split manifests (--manifest)")
    df = pd.concat(frames, ignore_index=True)
    return df.assign(y=labels_of(df))


def _features(model, paths, plan, cfg, desc, show_progress, aug=None, views=1):
    ds = CropDataset(paths, plan, aug, views, cfg.seed)
    f, upsampled, errors = crop_features(model, ds, cfg.batch_size, cfg.workers, show_progress, desc)
    return f, upsampled, {paths[i % len(paths)]: r for i, r in errors.items()}


def fingerprint(sha256s: list[str]) -> str:
    """One hash of the set of training files (their sha256), recorded in the checkpoint."""
    return hashlib.sha256("\n".join(sorted(sha256s)).encode()).hexdigest()


def fit_detector(
    cfg: DetectorConfig, out_dir: str | Path, show_progress: bool = True, log=print, resume: bool = False
) -> dict:
    """Train a detector into ``out_dir`` (locked against a second process for the duration).

    End-to-end designs also train under ``torchrun`` (rank 0 alone writes ``out_dir`` and gets
    the summary; the other ranks get ``{"rank": r}``) and continue an interrupted run with
    ``resume``. Frozen designs fit in one process, in minutes, and start again instead."""
    spec = get_spec(cfg.model)
    if spec.kind != "detector":
        raise ValueError(f"{cfg.model} is not a detector model (see `realorai models`)")
    if spec.frozen_backbone and distributed.world_size() > 1:
        raise ValueError(f"{cfg.model}: frozen designs fit a convex head in one process; run it without torchrun")
    if cfg.consistent_margin is not None and not spec.frozen_backbone:
        raise ValueError(f"{cfg.model}: the consistent-direction rule selects frozen features; this design has none")
    if spec.frozen_backbone and resume:
        raise ValueError(f"{cfg.model}: frozen designs have no epochs to resume; train again into a new folder")
    rank, _ = distributed.setup()
    if rank != 0:
        summary = _fit_detector(cfg, Path(out_dir), False, lambda m: None, resume, rank)
    else:
        with folder_lock(out_dir):
            summary = _fit_detector(cfg, Path(out_dir), show_progress, log, resume, rank)
    distributed.finish()  # every rank leaves once rank 0 has written the run
    return summary


def _fit_detector(cfg: DetectorConfig, out: Path, show_progress: bool, log, resume: bool, rank: int) -> dict:
    from realorai.detector.e2e import RESUMABLE_CHANGES, STATE

    resume = resume and (out / STATE).is_file()
    if resume:  # before anything in the run folder is rewritten
        check_resume_settings(out, cfg.to_dict(), RESUMABLE_CHANGES)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "config.json", cfg.to_dict())
        df = dataset_parts(cfg, out, show_progress, log, reuse=resume)
    distributed.barrier()  # the other ranks read the split rank 0 wrote
    if rank != 0:
        df = dataset_parts(cfg, out, False, log, reuse=True)
    spec = get_spec(cfg.model)
    torch.manual_seed(cfg.seed)
    t0 = time.perf_counter()
    train, val, test = (df[df["split"] == s].reset_index(drop=True) for s in ("train", "val", "test"))
    if train["y"].nunique() < 2:
        raise ValueError("the train split needs images of both classes")
    model = create_model(cfg.model, pretrained=True).to(memory_format=torch.channels_last)
    if spec.frozen_backbone:
        meta, val_metrics, skipped, scorer = _fit_frozen(cfg, model, train, val, show_progress, log, out)
    else:
        from realorai.detector.e2e import fit_end_to_end, test_scores

        meta, val_metrics = fit_end_to_end(model, cfg, train, val, show_progress, log, out, resume)
        if rank != 0:
            return {"rank": rank}
        skipped, scorer = {}, lambda part: test_scores(model, cfg, part, show_progress)
    meta.update(
        train_datasets=sorted(train["dataset"].unique()),
        train_images=int(len(train)),
        train_fingerprint=fingerprint(train["sha256"].astype(str).tolist()),
        # 64-bit prefixes of the sha256 of every file the model was fitted or calibrated on
        # (train and validation), so evaluation can leave them out (kept up to 100,000 files).
        seen_sha256_prefixes=seen_prefixes(train, val),
        skipped=skipped,
    )
    save_checkpoint(out / BEST, model, meta)
    summary = {
        **{k: meta.get(k) for k in ("threshold", "threshold_source", "temperature", "C", "n_val", "train_images")},
        "model": cfg.model,
        "val": val_metrics,
        "test": _test_metrics(test, scorer(test) if len(test) else None, meta["threshold"]),
        "train_seconds": round(time.perf_counter() - t0, 1),
    }
    write_json(out / "train_summary.json", summary)
    return summary


def _fit_frozen(cfg: DetectorConfig, model, train, val, show_progress, log, out: Path):
    """Frozen features of clean and augmented crops, a head chosen on validation, calibration."""
    plan = plan_of(model)
    paths = train["path"].tolist()
    f_clean, _, skipped = _features(model, paths, plan, cfg, "features train", show_progress)
    f_aug, _, _ = _features(
        model, paths, plan, cfg, "features train (augmented)", show_progress, cfg.augment, cfg.views
    )
    x = np.concatenate([f_clean, f_aug])
    y = np.tile(train["y"].to_numpy(), 1 + cfg.views)
    groups = np.tile(train["dataset"].to_numpy(), 1 + cfg.views)
    f_val, _, val_skipped = _features(model, val["path"].tolist(), plan, cfg, "features val", show_progress)
    skipped.update(val_skipped)
    mask = None
    if cfg.consistent_margin is not None:
        mask = consistent_mask(x, y, groups, cfg.consistent_margin)
        log(f"consistent features: {int(mask.sum())} of {len(mask)} agree in direction in every training set")
    head, scores = _choose_head(cfg, x, y, groups, f_val, val["y"].to_numpy(), log, mask)
    meta, val_metrics = _calibrate(cfg, model, head, f_val, val["y"].to_numpy(), log)
    meta["c_grid_val_auc"] = {str(k): v for k, v in scores.items()}
    folds = fold_logits(
        cfg, x, y, groups, f_val, val["y"].to_numpy(), val["dataset"].to_numpy(), f_clean,
        train["dataset"].to_numpy(), _choose_head, log,
    )  # fmt: skip
    meta.update(_recalibrate(model, meta, folds, log))
    _save_fold_scores(out, folds, train, val)

    def scorer(part):
        f, _, _ = _features(model, part["path"].tolist(), plan, cfg, "features test", show_progress)
        with torch.no_grad():
            return torch.sigmoid(model.logit(torch.from_numpy(f))).numpy()

    return meta, val_metrics, skipped, scorer


def _recalibrate(model, meta: dict, folds: dict, log) -> dict:
    """P(AI) recalibrated on out-of-source fold scores and the pixel tiers (``detector.oos``);
    the validation threshold is carried onto the new scale. Without two usable folds the model
    keeps its validation calibration and records why it has no tiers."""
    block, platt = reliability(folds)
    if platt is None:
        log(f"warning: {block['reason']}; every pixel verdict of this model will be inconclusive")
        return {"reliability": block}
    a, b = platt
    fold_platt_into(model, a, b)
    t = block["tiers"]
    log(
        f"out of source (pooled ROC-AUC {block['roc_auc_pooled']:.3f}): P(AI) = sigmoid({a:.3f} z + {b:.3f}); "
        f"likely AI from {t['likely_ai_from']}, likely real below {t['likely_real_below']}, "
        f"{t['inconclusive']:.0%} inconclusive"
    )
    return {
        "reliability": block,
        "threshold": calibrated_threshold(meta["threshold"], a, b),
        "threshold_before_recalibration": meta["threshold"],
    }


def _save_fold_scores(out: Path, folds: dict, train: pd.DataFrame, val: pd.DataFrame) -> None:
    """The out-of-source fold logits, per image, beside the checkpoint (what the tiers rest on)."""
    rows = []
    for d, f in folds.items():
        for (part, i), z, y in zip(f["rows"], f["z"], f["y"], strict=True):
            src = train if part == "train" else val
            rows.append({"dataset": d, "path": src["path"].iloc[i], "split": part, "y": int(y), "z": float(z)})
    if rows:
        write_with(out / "out_of_source.csv", lambda p: pd.DataFrame(rows).to_csv(p, index=False))
    # Each fold's head: "the design trained without this dataset", the prior a few-shot benchmark
    # adapts from (benchmarks/kshot.py).
    heads = {
        d: {"mu": f["head"].mu, "sigma": f["head"].sigma, "w": f["head"].w, "b": f["head"].b,
            "C": f["head"].C, "temperature": f["temperature"]}
        for d, f in folds.items()
    }  # fmt: skip
    if heads:
        write_json(out / "out_of_source_heads.json", {d: {k: np.asarray(v).tolist() for k, v in h.items()}
                                                      for d, h in heads.items()})  # fmt: skip


def _choose_head(cfg: DetectorConfig, x, y, groups, f_val, y_val, log, mask=None) -> tuple[Head, dict]:
    """The regularisation strength is the one free choice; it is made on validation ROC-AUC."""
    scores: dict[float, float] = {}
    best = None
    for C in cfg.c_grid:
        head = fit_head_arrays(x, y, C, cfg.seed, groups, mask)
        auc = roc_auc_or_nan(y_val, predict_logits(head, f_val)) if len(y_val) else float("nan")
        scores[C] = auc
        log(f"C={C:g}: validation ROC-AUC {auc:.4f}")
        if best is None or (np.isfinite(auc) and not auc <= scores[best.C]):
            best = head
    return best, scores


def _calibrate(cfg: DetectorConfig, model, head: Head, f_val, y_val, log) -> tuple[dict, dict]:
    """Temperature and threshold on validation data (never test); both go into ``model``'s metadata."""
    calibration, val_metrics = calibrate(predict_logits(head, f_val), y_val, cfg.min_val_per_class, log)
    load_into(model, head, calibration["temperature"])
    return {"config": cfg.to_dict(), **calibration, "C": head.C}, val_metrics


def _test_metrics(test: pd.DataFrame, p_test: np.ndarray | None, threshold: float) -> dict:
    """Metrics on the test split, over all of it and per dataset (reported, never used to choose)."""
    if p_test is None:
        return {}
    out = {}
    for name, part in [("all", test), *test.groupby("dataset")]:
        idx = part.index.to_numpy()
        good = idx[np.isfinite(p_test[idx])]
        m = binary_metrics(test["y"].to_numpy()[good], p_test[good], threshold)
        m["ece"] = expected_calibration_error(test["y"].to_numpy()[good], p_test[good])
        out[name] = m
    return out
