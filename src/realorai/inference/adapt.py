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

import hashlib
import time
from pathlib import Path

import numpy as np
import pandas as pd

from realorai.atomic import folder_lock, write_json, write_text
from realorai.detector.adapt import Examples, adapt_head, bootstrap_auc_interval, prior_from_state
from realorai.detector.augment import AugmentConfig
from realorai.detector.score import image_features
from realorai.inference.detector import Detector, default_weights
from realorai.models.checkpoint import ADAPTED, resolve_checkpoint, save_adapted
from realorai.tiers import roc_auc

VIEWS = 4  # augmented views per example (rescale, crop, flip, blur, JPEG: the training recipe's chain)
TOO_FEW = 10  # examples of a class under which the report warns


def scan_examples(examples: pd.DataFrame, show_progress: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The examples (path, label, origin) with hashes, format and near-duplicate groups; files that
    cannot be read or are exact copies of another are dropped (and counted)."""
    from realorai.data.manifest import scan_files, usable

    df = scan_files([Path(p) for p in examples["path"]], examples["label"].tolist(), show_progress=show_progress)
    df = df.merge(examples[["path", "origin"]], on="path", how="left")
    good = usable(df)
    return good.assign(y=(good["label"] == "ai").astype(int)).reset_index(drop=True), df[~df.index.isin(good.index)]


def warnings_for(df: pd.DataFrame, cv_auc: float, interval: tuple[float, float]) -> list[str]:
    """What the report must say before anyone relies on the adapted model."""
    out = []
    for label in ("ai", "real"):
        n = int((df["label"] == label).sum())
        if n < TOO_FEW:
            out.append(f"too few examples: {n} {label} images (at least {TOO_FEW} a class are advised; "
                       "the figures below are rough)")  # fmt: skip
    groups = df["dup_group"].nunique()
    if groups < len(df):
        out.append(f"{len(df) - groups} examples are near-duplicates of others: each group counts once in "
                   "cross-validation, so they add little")  # fmt: skip
    out += shortcut_warnings(df)
    if not np.isfinite(cv_auc) or interval[0] <= 0.5:
        out.append(f"cross-validation cannot separate these examples (ROC-AUC {cv_auc:.2f}, 95% interval "
                   f"{interval[0]:.2f}-{interval[1]:.2f} includes chance): do not rely on this model")  # fmt: skip
    return out


def shortcut_warnings(df: pd.DataFrame) -> list[str]:
    """File traits that alone tell the two classes of examples apart: format, JPEG quality, size.
    The head may learn those instead of the source (a processing history, not a generator)."""
    ai, real = df[df["label"] == "ai"], df[df["label"] == "real"]
    out = []
    formats = set(ai["format"]), set(real["format"])
    if len(formats[0]) == 1 and len(formats[1]) == 1 and formats[0] != formats[1]:
        out.append(
            f"format shortcut: every AI example is {formats[0].pop()} and every real one {formats[1].pop()}: the "
            "head may learn the file format, not the source; add examples of each class in the other format"
        )
    qa, qr = ai["jpeg_quality"].dropna(), real["jpeg_quality"].dropna()
    if len(qa) and len(qr) and (qa.min() > qr.max() or qr.min() > qa.max()):
        out.append(
            f"JPEG quality shortcut: the AI examples are q{qa.min():.0f}-{qa.max():.0f} and the real ones "
            f"q{qr.min():.0f}-{qr.max():.0f}, never overlapping: the head may learn how the files were saved"
        )
    sa, sr = ai["width"] * ai["height"], real["width"] * real["height"]
    if len(sa) and len(sr) and (sa.min() > sr.max() or sr.min() > sa.max()):
        out.append("size shortcut: every AI example is larger (or smaller) than every real one: the head may learn "
                   "the size")  # fmt: skip
    return out


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
    except Exception as e:  # an exported .onnx file, or a checkpoint of another design
        raise ValueError(f"{path}: adapting needs the frozen detector's checkpoint (.safetensors): {e}") from e


def fingerprint(sha256s) -> str:
    return hashlib.sha256("\n".join(sorted(sha256s)).encode()).hexdigest()


def adapt(
    examples: pd.DataFrame,
    out: str | Path,
    base_path: str | Path | None = None,
    views: int = VIEWS,
    seed: int = 0,
    name: str = "",
    show_progress: bool = True,
    log=print,
) -> dict:
    """Adapt the base detector (the shipped one when None) to the source of ``examples`` (columns
    path, label "ai"/"real", origin) and write the adapted model into ``out``; returns the report."""
    out = Path(out)
    t0 = time.perf_counter()
    with folder_lock(out):
        base = Detector.load(base_path)
        df, dropped = scan_examples(examples, show_progress)
        if df["y"].nunique() < 2:
            raise ValueError("adapting needs examples of both classes (ai and real)")
        x, xv, errors = image_features(base.model, df["path"].tolist(), views, AugmentConfig(), seed, show_progress)
        keep = np.isfinite(x).all(1)
        if not keep.all():
            log(f"{int((~keep).sum())} examples could not be read and are left out")
        df, x = df[keep].reset_index(drop=True), x[keep]
        xv = xv.reshape(views, len(keep), -1)[:, keep] if views else np.zeros((0, len(df), x.shape[1]))
        rows = np.concatenate([x, *xv])
        y = np.tile(df["y"].to_numpy(), 1 + views)
        groups = np.tile(df["dup_group"].astype(str).to_numpy(), 1 + views)
        clean = np.r_[np.ones(len(df), bool), np.zeros(views * len(df), bool)]
        fit = adapt_head(Examples(rows, y, groups, clean), base_prior(base, base_path), seed=seed)
        report = _report(df, fit, dropped, errors, base, base_path, views, name, time.perf_counter() - t0)
        arrays = {"mu": fit.head.mu, "sigma": fit.head.sigma, "w": fit.head.w}
        save_adapted(out / ADAPTED, arrays, _meta(report, fit, base, df))
        df[["path", "label", "origin", "sha256", "dup_group", "format"]].to_csv(out / "examples.csv", index=False)
        write_json(out / "adapt_report.json", report)
        write_text(out / "MODEL_CARD.md", model_card(report))
    return report


def _report(df, fit, dropped, errors, base, base_path, views, name, seconds) -> dict:
    y = fit.cv.y
    p = 1 / (1 + np.exp(-(fit.a * fit.cv.oof + fit.b)))
    auc = roc_auc(fit.cv.oof, y)
    interval = bootstrap_auc_interval(fit.cv.oof, y) if np.isfinite(auc) else (float("nan"), float("nan"))
    called = p >= 0.5
    return {
        "what": name,
        "base": {"model": base.name, "source": "shipped" if base_path is None else str(resolve_checkpoint(base_path))},
        "examples": {
            "ai": int(df["y"].sum()),
            "real": int((1 - df["y"]).sum()),
            "groups": int(df["dup_group"].nunique()),
            "views": views,
            "dropped": dropped[["path", "status", "reason"]].to_dict("records"),
            "unreadable": {str(k): v for k, v in errors.items()},
        },  # fmt: skip
        "cross_validation": {
            "folds": fit.cv.folds,
            "lambda": fit.cv.lam,
            "roc_auc": auc,
            "roc_auc_95": list(interval),
            # The held-out examples' augmented views (rescaled, cropped, blurred, re-encoded).
            "roc_auc_reprocessed": roc_auc(fit.cv.oof_views, fit.cv.y_views) if len(fit.cv.y_views) else None,
            "by_lambda": {str(k): v for k, v in fit.cv.by_lam.items()},
            "at_0.5": {"false_positive_rate": float(called[y == 0].mean()), "recall": float(called[y == 1].mean())},
        },  # fmt: skip
        "tiers": fit.tiers.to_dict(),
        "warnings": warnings_for(df, auc, interval),
        "seconds": round(seconds, 1),
    }


def _meta(report: dict, fit, base: Detector, df: pd.DataFrame) -> dict:
    return {
        "model": base.name,
        "data_config": base.meta.get("data_config"),
        "threshold": 0.5,
        "reliability": {"method": fit.tiers.how, "tiers": fit.tiers.to_dict()},
        "adapted": {
            "base": report["base"],
            "b": fit.head.b,
            "platt": {"a": fit.a, "b": fit.b},
            "what": report["what"],
            "cross_validation": report["cross_validation"],
            "warnings": report["warnings"],
            "examples": {
                **{k: report["examples"][k] for k in ("ai", "real", "groups", "views")},
                "fingerprint": fingerprint(df["sha256"]),
            },
        },  # fmt: skip
        # The examples' hashes: a benchmark or evaluation can leave out what the head was fitted on.
        "seen_sha256_prefixes": sorted(h[:16] for h in df["sha256"]),
    }


def _reprocessed(cv: dict) -> str:
    r = cv.get("roc_auc_reprocessed")
    return "" if r is None else f"; on re-processed copies (rescaled, blurred, re-encoded) {r:.3f}"


def _tiers_line(t: dict) -> str:
    if t["likely_ai_from"] is None and t["likely_real_below"] is None:
        return "no P(AI) range reached 90% right: every verdict from this model is inconclusive."
    ai = "empty" if t["likely_ai_from"] is None else f"P(AI) >= {t['likely_ai_from']:.3f}"
    real = "empty" if t["likely_real_below"] is None else f"P(AI) < {t['likely_real_below']:.3f}"
    return f"likely AI {ai}; likely real {real}; {t['inconclusive']:.0%} of held-out examples between them."


def model_card(report: dict) -> str:
    cv = report["cross_validation"]
    t = report["tiers"]
    ex = report["examples"]
    warn = "\n".join(f"- **{w}**" for w in report["warnings"]) or "- none"
    lo, hi = cv["roc_auc_95"]
    return f"""# Adapted model: {report["what"] or "(no description given: pass --name)"}

A head adapted by `realorai adapt` on the features of `{report["base"]["model"]}`
({report["base"]["source"]}), from {ex["ai"]} AI and {ex["real"]} real examples
({ex["groups"]} near-duplicate groups, {ex["views"]} augmented views each).

## What to expect, from {cv["folds"]}-fold cross-validation on those examples

- ROC-AUC {cv["roc_auc"]:.3f} (95% interval {lo:.2f}-{hi:.2f}){_reprocessed(cv)}; at P(AI) 0.5:
  false-positive rate {cv["at_0.5"]["false_positive_rate"]:.0%}, recall {cv["at_0.5"]["recall"]:.0%}.
- Tiers (chosen on the held-out examples' scores, as given and re-processed): {_tiers_line(t)}

## Warnings

{warn}

## Good for, and not

Good for: more images **from the same source** as the examples (the same generator, channel,
camera pipeline or collection), processed the way those were. Not for: images from other
sources, where its figures say nothing (realorai's shipped detector is near chance there), nor
for deciding anything about a person on its own. A verified content credential still decides
over it. Cross-validated figures on a few dozen examples are rough: check it on more confirmed
images of the source before relying on it.
"""
