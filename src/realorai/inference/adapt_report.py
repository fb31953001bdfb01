"""What ``realorai adapt`` writes besides the head: the report (``adapt_report.json``), the
checkpoint's metadata and the model card, all from the cross-validation on the examples."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from realorai.detector.adapt import bootstrap_auc_interval
from realorai.inference.detector import Detector
from realorai.models.checkpoint import resolve_checkpoint
from realorai.tiers import roc_auc

TOO_FEW = 10  # examples of a class under which the report warns


def fingerprint(sha256s) -> str:
    return hashlib.sha256("\n".join(sorted(sha256s)).encode()).hexdigest()


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


def make_report(df, fit, dropped, errors, base, base_path, views, name, seconds) -> dict:
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


def checkpoint_meta(report: dict, fit, base: Detector, df: pd.DataFrame, extractor=None) -> dict:
    feats = report.get("features") or {"name": "early"}
    early = feats["name"] == "early"
    return {
        "model": base.name if early else f"{feats['name']}-head",
        "data_config": base.meta.get("data_config") if early else extractor.data_config.to_dict(),
        "threshold": 0.5,
        "reliability": {"method": fit.tiers.how, "tiers": fit.tiers.to_dict()},
        "adapted": {
            "base": report["base"],
            "features": feats,
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


def _features_line(report: dict) -> str:
    """What the head reads: the base detector's features, or an extractor's, with its weights' origin."""
    f = report.get("features") or {"name": "early"}
    if f["name"] == "early":
        return f"the features of `{report['base']['model']}` ({report['base']['source']})"
    blocks = ", ".join(str(b) for b in f.get("blocks", []))
    weights = f.get("weights")
    origin = weights if isinstance(weights, str) else ", ".join(f"{k} {v}" for k, v in (weights or {}).items() if v)
    export = f"; {f['export']}" if f.get("export") else ""
    return (f"`{f['name']}` features (block {blocks}: {f.get('tokens', '')}; {f.get('crops', '')}), weights "
            f"sha256 {str(f.get('weights_sha256', ''))[:16]}... from {origin}{export}")  # fmt: skip


def model_card(report: dict) -> str:
    cv = report["cross_validation"]
    t = report["tiers"]
    ex = report["examples"]
    warn = "\n".join(f"- **{w}**" for w in report["warnings"]) or "- none"
    lo, hi = cv["roc_auc_95"]
    return f"""# Adapted model: {report["what"] or "(no description given: pass --name)"}

A head adapted by `realorai adapt` on {_features_line(report)}, from {ex["ai"]} AI and {ex["real"]} real examples
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
