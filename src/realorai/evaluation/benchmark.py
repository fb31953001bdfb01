"""Per-dataset metrics, per-generator recall, the robustness sweep and leave-one-dataset-out."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from realorai.data.manifest import DEFAULT_LABEL_MAP, label_for
from realorai.detector.fit import DetectorConfig, fit_detector
from realorai.evaluation.perturb import PERTURBATIONS
from realorai.evaluation.shortcuts import file_metadata, jpeg_band_auc, metadata_auc
from realorai.hashing import sha256_file
from realorai.inference.detector import Detector
from realorai.inference.inputs import expand_inputs
from realorai.metrics import detection_metrics as metrics_for
from realorai.models.checkpoint import seen_in


def labelled_files(folder: str | Path, both_classes: bool = True) -> pd.DataFrame:
    """path, y (1 = AI) and generator (from generators.csv when the dataset has one).
    ``both_classes=False`` also takes a real-only (or AI-only) folder."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such dataset folder")
    files, _ = expand_inputs([str(root)])
    rows = []
    for f in files:
        label = label_for(Path(f), root, DEFAULT_LABEL_MAP)
        if label in ("ai", "real"):
            rows.append({"path": f, "y": int(label == "ai")})
    df = pd.DataFrame(rows, columns=["path", "y"])
    if df.empty or (both_classes and df["y"].nunique() < 2):
        raise ValueError(f"{root}: a benchmark dataset needs images in both an ai/ and a real/ folder")
    df["generator"] = ""
    gens = root / "generators.csv"
    if gens.is_file():
        g = pd.read_csv(gens)
        if {"file", "generator"} <= set(g.columns):
            by_path = {str(root / f): str(v) for f, v in zip(g["file"], g["generator"], strict=True)}
            df["generator"] = [by_path.get(p, "") if y == 1 else "" for p, y in zip(df["path"], df["y"], strict=True)]
    return df


def drop_seen(df: pd.DataFrame, det: Detector) -> tuple[pd.DataFrame, int]:
    """Leave out the files the model was trained or calibrated on (by sha256), with their count."""
    if not det.meta.get("seen_sha256_prefixes"):
        return df, 0
    keep = ~np.array(seen_in(det.meta, (_sha256_or_empty(p) for p in df["path"])), dtype=bool)
    return df[keep].reset_index(drop=True), int((~keep).sum())


def _sha256_or_empty(path: str) -> str:
    try:
        return sha256_file(path)
    except OSError:  # unreadable: scored (and reported) as an error, never "seen"
        return ""


def sample(df: pd.DataFrame, limit: int | None, seed: int = 0) -> pd.DataFrame:
    """At most ``limit`` images, the same share of each class, chosen by ``seed``."""
    if not limit or len(df) <= limit:
        return df
    frac = limit / len(df)
    parts = [g.sample(max(1, round(len(g) * frac)), random_state=seed) for _, g in df.groupby("y")]
    return pd.concat(parts).sort_index()


def name_of_change(change: str, n: int) -> str:
    """A progress bar's label for one perturbation of the robustness sweep."""
    return f"{change} ({n} sampled)"


def evaluate_dataset(
    det: Detector, df: pd.DataFrame, robustness_limit: int | None, robustness: bool, show_progress: bool,
    name: str = "",
) -> dict:  # fmt: skip
    """Metrics as is (all images), per generator, and per perturbation (a seeded sample)."""
    y = df["y"].to_numpy()
    t0 = time.perf_counter()
    s = det.score(df["path"].tolist(), show_progress=show_progress and f"{name}: as is")
    p, low, errors = s.p_ai, s.low_confidence, s.errors
    res = {"as_is": metrics_for(y, p, det.threshold), "seconds": round(time.perf_counter() - t0, 1)}
    res["as_is"]["low_confidence"] = int(low.sum())
    res["errors"] = errors
    res["scores"] = {"y": y.tolist(), "p_ai": [None if np.isnan(v) else float(v) for v in p]}
    gens = {}
    for g, part in df[df["generator"] != ""].groupby("generator"):
        pp = p[part.index.to_numpy()]
        gens[g] = {"n": int(len(part)), "recall": float(np.mean(pp[np.isfinite(pp)] >= det.threshold))}
    res["per_generator"] = gens
    meta = file_metadata(df["path"].tolist())
    res["shortcuts"] = {"metadata_auc": metadata_auc(meta, y), "jpeg_bands": jpeg_band_auc(meta, y, p)}
    if robustness:
        sub = sample(df, robustness_limit)
        idx, ys = sub.index.to_numpy(), sub["y"].to_numpy()
        sweep = {}
        for name_, fn in PERTURBATIONS.items():
            if fn is None:
                pp = p[idx]
            else:
                label = show_progress and f"{name}: {name_of_change(name_, len(sub))}"
                pp = det.score(sub["path"].tolist(), show_progress=label, transform=fn).p_ai
            m = metrics_for(ys, pp, det.threshold)
            keys = ("n", "roc_auc", "average_precision", "balanced_accuracy", "ece", "accuracy_real", "accuracy_ai")
            sweep[name_] = {k: m[k] for k in keys}
        base = sweep["as is"]["roc_auc"]
        for v in sweep.values():
            v["auc_lost"] = base - v["roc_auc"]
        res["robustness"] = sweep
    return res


def leave_one_dataset_out(
    datasets: list[str],
    out: Path,
    model: str,
    views: int,
    show_progress: bool,
    log=print,
    backend: str = "auto",
    extra_reals: tuple[str, ...] = (),
) -> dict:
    """Train on all but one dataset (train+val splits of each, plus every real-only set in
    ``extra_reals``), test on all of the one left out."""
    result = {}
    for left_out in datasets:
        train_on = tuple(d for d in datasets if d != left_out) + tuple(extra_reals)
        run = out / "lodo" / Path(left_out).name
        cfg = DetectorConfig(model=model, data=train_on, views=views, ratios="85/15/0")
        log(f"LODO: training on {[Path(d).name for d in train_on]}, testing on {Path(left_out).name}")
        summary = fit_detector(cfg, run, show_progress, log)
        det = Detector.load(run / "best.safetensors", backend=backend)
        df = labelled_files(left_out)
        p = det.score(df["path"].tolist(), show_progress=show_progress and f"LODO: {Path(left_out).name}").p_ai
        result[Path(left_out).name] = {
            "trained_on": [Path(d).name for d in train_on],
            "train_images": summary["train_images"],
            **{k: v for k, v in metrics_for(df["y"].to_numpy(), p, det.threshold).items() if k != "per_class"},
        }
    return result


def real_only(det: Detector, df: pd.DataFrame, show_progress: bool, name: str = "") -> dict:
    """A folder of real images only: how many the detector scores at or above its threshold."""
    p = det.score(df["path"].tolist(), show_progress=show_progress and f"{name}: real only").p_ai
    ok = np.isfinite(p)
    return {
        "n": int(ok.sum()),
        "above_threshold": int((p[ok] >= det.threshold).sum()),
        "fpr": float(np.mean(p[ok] >= det.threshold)) if ok.any() else float("nan"),
        "unreadable": int((~ok).sum()),
    }


def false_positives(result: dict, threshold: float) -> dict:
    """Over every real image not trained on (test splits of two-class sets, real-only sets): the
    share scored at or above the threshold, and the share of AI images there."""
    reals = ai = called = caught = 0
    for d in result["datasets"].values():
        y, p = np.array(d["scores"]["y"]), np.array([np.nan if v is None else v for v in d["scores"]["p_ai"]])
        ok = np.isfinite(p)
        reals += int(((y == 0) & ok).sum())
        called += int(((y == 0) & ok & (p >= threshold)).sum())
        ai += int(((y == 1) & ok).sum())
        caught += int(((y == 1) & ok & (p >= threshold)).sum())
    for d in result.get("reals", {}).values():
        reals, called = reals + d["n"], called + d["above_threshold"]
    return {
        "reals": reals,
        "fpr": called / reals if reals else float("nan"),
        "ai": ai,
        "recall": caught / ai if ai else float("nan"),
    }


def benchmark(
    datasets: list[str],
    out: str | Path,
    model: str | Path | None = None,
    robustness: bool = True,
    robustness_limit: int | None = 400,
    lodo: bool = False,
    lodo_model: str | None = None,
    lodo_views: int = 4,
    command: str = "",
    show_progress: bool = True,
    log=print,
    backend: str = "auto",
    logo: bool = False,
) -> dict:
    """Measure ``model`` (the shipped detector when None) on each dataset; optionally LODO and
    LOGO (inside each dataset whose generators.csv names at least two generators)."""
    from datetime import UTC, datetime

    from realorai.evaluation.benchmark_tables import write_all

    t0 = time.perf_counter()
    out = Path(out)
    frames = {Path(d).name: labelled_files(d, both_classes=False) for d in datasets}  # fail early on a bad folder
    two_class = [d for d in datasets if frames[Path(d).name]["y"].nunique() == 2]
    one_class = [d for d in datasets if d not in two_class]
    det = Detector.load(model, backend=backend)
    result = {
        "command": command,
        "model": det.name,
        "backend": det.backend,
        "source": det.source,
        "threshold": det.threshold,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "robustness_limit": robustness_limit,
        "datasets": {},
    }
    for name, df in frames.items():
        df, n_seen = drop_seen(df, det)
        if frames[name]["y"].nunique() < 2:
            if frames[name]["y"].iloc[0] == 0 and len(df):
                log(f"benchmark: {name} (real only, {len(df)} images): share at or above the threshold")
                result.setdefault("reals", {})[name] = {
                    **real_only(det, df, show_progress, name),
                    "seen_left_out": n_seen,
                }
            continue
        if df["y"].nunique() < 2:
            log(f"benchmark: {name} skipped: the model was trained or calibrated on all of it")
            continue
        note = f", {n_seen} left out: the model trained, validated or calibrated on them" if n_seen else ""
        log(f"benchmark: {name} ({len(df)} images scored{note})")
        result["datasets"][name] = evaluate_dataset(det, df, robustness_limit, robustness, show_progress, name)
        result["datasets"][name]["seen_left_out"] = n_seen
    result["false_positives"] = false_positives(result, det.threshold)
    if lodo:
        result["lodo"] = leave_one_dataset_out(
            two_class, out, lodo_model or det.name, lodo_views, show_progress, log, backend, tuple(one_class)
        )
    if logo:
        from realorai.evaluation.logo import leave_one_generator_out

        for d in two_class:
            if frames[Path(d).name]["generator"].nunique() > 2:  # "" plus at least two generators
                design = lodo_model or det.name
                result.setdefault("logo", {})[Path(d).name] = leave_one_generator_out(
                    d, out, design, lodo_views, show_progress, log, backend
                )
    result["seconds"] = round(time.perf_counter() - t0, 1)
    result["written"] = [str(p) for p in write_all(result, out)]
    return result
