"""Metrics as pure functions of labels (1 = AI) and scores P(AI)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    classification_report,
    confusion_matrix,
    roc_auc_score,
    roc_curve,
)

from realorai import CLASSES


def choose_threshold(y_true: np.ndarray, p_ai: np.ndarray) -> float:
    """The threshold on P(AI) that maximises balanced accuracy (Youden's J) on these labels.

    Call it on validation data only. Ties go to the threshold nearest 0.5. Candidate
    thresholds are midpoints between sorted distinct scores, so a threshold never sits
    exactly on a sample's score.
    """
    y_true = np.asarray(y_true).astype(int)
    p = np.asarray(p_ai, dtype=float)
    if len(np.unique(y_true)) < 2:
        return 0.5
    s = np.unique(p)
    candidates = np.concatenate([[0.5], (s[:-1] + s[1:]) / 2.0, [s[0] - 1e-6, s[-1] + 1e-6]])
    candidates = np.clip(candidates, 0.0, 1.0)
    pos, neg = y_true == 1, y_true == 0
    pred = p[None, :] >= candidates[:, None]
    balanced = (pred[:, pos].mean(1) + (~pred[:, neg]).mean(1)) / 2.0
    best = np.flatnonzero(np.isclose(balanced, balanced.max()))
    return float(candidates[best[np.argmin(np.abs(candidates[best] - 0.5))]])


# A threshold chosen on fewer validation images of a class than this is noise (2 images once
# chose 0.96): below it the threshold stays 0.5 and the checkpoint says why.
MIN_VAL_PER_CLASS = 10


def validation_threshold(
    y_val: np.ndarray, p_val: np.ndarray, min_per_class: int = MIN_VAL_PER_CLASS
) -> tuple[float, str, dict[str, int]]:
    """(threshold, where it came from, validation images per class): :func:`choose_threshold` on
    validation data when each class has ``min_per_class`` images, else 0.5 with the reason."""
    y = np.asarray(y_val).astype(int)
    n_val = {c: int((y == i).sum()) for i, c in enumerate(CLASSES)}
    if min(n_val.values()) >= min_per_class:
        return choose_threshold(y, p_val), "validation (max balanced accuracy)", n_val
    return 0.5, f"default 0.5 (validation has {n_val}, under {min_per_class} per class)", n_val


def binary_metrics(y_true: np.ndarray, p_ai: np.ndarray, threshold: float = 0.5) -> dict:
    """Accuracy, per-class precision/recall/F1/support, macro and weighted averages, confusion
    matrix (rows true real/ai, columns predicted), ROC-AUC, average precision, and the
    accuracy on real and on AI images separately."""
    y_true = np.asarray(y_true).astype(int)
    p = np.asarray(p_ai, dtype=float)
    y_pred = (p >= threshold).astype(int)
    report = classification_report(
        y_true, y_pred, labels=[0, 1], target_names=list(CLASSES), output_dict=True, zero_division=0
    )
    cm = confusion_matrix(y_true, y_pred, labels=[0, 1])
    both = len(np.unique(y_true)) == 2
    return {
        "n": int(len(y_true)),
        "threshold": float(threshold),
        "accuracy": float((y_pred == y_true).mean()) if len(y_true) else float("nan"),
        "accuracy_real": float((y_pred[y_true == 0] == 0).mean()) if (y_true == 0).any() else float("nan"),
        "accuracy_ai": float((y_pred[y_true == 1] == 1).mean()) if (y_true == 1).any() else float("nan"),
        "roc_auc": float(roc_auc_score(y_true, p)) if both else float("nan"),
        "average_precision": float(average_precision_score(y_true, p)) if both else float("nan"),
        "per_class": {c: {k: float(v) for k, v in report[c].items()} for c in CLASSES},
        "macro_avg": {k: float(v) for k, v in report["macro avg"].items()},
        "weighted_avg": {k: float(v) for k, v in report["weighted avg"].items()},
        "confusion_matrix": cm.tolist(),
    }


def report_text(y_true: np.ndarray, p_ai: np.ndarray, threshold: float) -> str:
    """The classification report in the student report's (scikit-learn's) layout."""
    y_pred = (np.asarray(p_ai) >= threshold).astype(int)
    return classification_report(
        np.asarray(y_true).astype(int), y_pred, labels=[0, 1], target_names=list(CLASSES), digits=2, zero_division=0
    )


def roc_points(y_true: np.ndarray, p_ai: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    fpr, tpr, _ = roc_curve(np.asarray(y_true).astype(int), np.asarray(p_ai, dtype=float))
    return fpr, tpr


def roc_auc_or_nan(y_true: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC, NaN when only one class is present or no score is finite."""
    y, s = np.asarray(y_true).astype(int), np.asarray(score, dtype=float)
    ok = np.isfinite(s)
    y, s = y[ok], s[ok]
    return float(roc_auc_score(y, s)) if len(np.unique(y)) == 2 else float("nan")


def expected_calibration_error(y_true: np.ndarray, p_ai: np.ndarray, bins: int = 15) -> float:
    """ECE of P(AI): ``bins`` equal-width bins over [0, 1], the size-weighted mean gap between the
    mean P(AI) in a bin and the fraction of AI images in it (so 0.9 should mean AI 9 times in 10)."""
    y, p = np.asarray(y_true).astype(float), np.asarray(p_ai, dtype=float)
    ok = np.isfinite(p)
    y, p = y[ok], p[ok]
    if len(y) == 0:
        return float("nan")
    which = np.clip((p * bins).astype(int), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            ece += m.mean() * abs(y[m].mean() - p[m].mean())
    return float(ece)


def roc_auc_interval(y_true, score, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """A percentile bootstrap interval of the ROC-AUC, resampling each class apart (so every
    resample has both); (nan, nan) without both classes. 100 test images give about +-0.1."""
    y, s = np.asarray(y_true).astype(int), np.asarray(score, dtype=float)
    pos, neg = s[y == 1], s[y == 0]
    if not len(pos) or not len(neg):
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    aucs = np.empty(n_boot)
    for b in range(n_boot):
        bp, bn = rng.choice(pos, len(pos)), rng.choice(neg, len(neg))
        # Mann-Whitney: the share of (AI, real) pairs ranked right, ties counting half.
        ranks = np.searchsorted(np.sort(bn), bp, side="left") + np.searchsorted(np.sort(bn), bp, side="right")
        aucs[b] = ranks.sum() / (2 * len(bp) * len(bn))
    lo, hi = np.quantile(aucs, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def detection_metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict:
    """``binary_metrics`` of the readable scores (NaN: unreadable, counted apart), with balanced
    accuracy and ECE: the benchmark's figures for one set of images."""
    ok = np.isfinite(p)
    m = binary_metrics(y[ok], p[ok], threshold)
    m["balanced_accuracy"] = float(np.nanmean([m["accuracy_real"], m["accuracy_ai"]]))
    m["ece"] = expected_calibration_error(y[ok], p[ok])
    m["unreadable"] = int((~ok).sum())
    m["roc_auc_ci"] = list(roc_auc_interval(y[ok], p[ok]))
    return m
