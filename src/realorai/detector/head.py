"""The detector's head: an L2-regularised logistic regression on standardised features, and
temperature scaling, both fitted as pure functions of arrays then copied into the network."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import minimize_scalar
from sklearn.linear_model import LogisticRegression

from realorai.detector.score import sigmoid
from realorai.metrics import binary_metrics, expected_calibration_error, validation_threshold


@dataclass(frozen=True)
class Head:
    mu: np.ndarray
    sigma: np.ndarray
    w: np.ndarray
    b: float
    C: float


def balanced_weights(y: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    """Sample weights giving every (group, class) cell the same total weight, so that neither
    the larger class nor the larger dataset decides what the head learns."""
    keys = (
        np.asarray(y).astype(str)
        if groups is None
        else np.char.add(np.asarray(groups).astype(str), np.asarray(y).astype(str))
    )
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    w = 1.0 / counts[inverse]
    return w * len(w) / w.sum()


def rank_auc(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """ROC-AUC of each column of ``x`` alone for labels ``y`` (ties share their mean rank)."""
    from scipy.stats import rankdata

    ranks = rankdata(x, axis=0)
    pos = np.asarray(y) == 1
    n1, n0 = int(pos.sum()), int((~pos).sum())
    return (ranks[pos].sum(0) - n1 * (n1 + 1) / 2) / (n1 * n0)


def consistent_mask(x: np.ndarray, y: np.ndarray, groups: np.ndarray, margin: float) -> np.ndarray:
    """Features whose direction agrees in every training set: in each group holding both
    classes, the feature's own ROC-AUC is above 0.5 + ``margin`` in all, or below 0.5 - margin in
    all. A feature that means "AI" in one dataset and "real" in another is a dataset's shortcut,
    not a generation trace (the probe in docs/DETECTOR.md). All features when none qualifies."""
    ok = ~np.isnan(x).any(1)
    x, y, groups = x[ok], np.asarray(y)[ok], np.asarray(groups)[ok]
    lifts = [rank_auc(x[groups == g], y[groups == g]) - 0.5 for g in np.unique(groups)
             if len(np.unique(y[groups == g])) == 2]  # fmt: skip
    if not lifts:
        return np.ones(x.shape[1], dtype=bool)
    lifts = np.stack(lifts)
    mask = np.all(lifts > margin, 0) | np.all(lifts < -margin, 0)
    return mask if mask.any() else np.ones(x.shape[1], dtype=bool)


def fit_head_arrays(
    x: np.ndarray,
    y: np.ndarray,
    C: float = 0.05,
    seed: int = 0,
    groups: np.ndarray | None = None,
    mask: np.ndarray | None = None,
) -> Head:
    """Logistic regression of ``y`` (1 = AI) on standardised ``x``, (dataset, class)-balanced
    when ``groups`` (e.g. the dataset of each row) is given; rows with NaN are dropped. With
    ``mask``, only those features get weights (the others' are 0)."""
    ok = ~np.isnan(x).any(1)
    x, y = x[ok].astype(np.float64), np.asarray(y)[ok]
    groups = None if groups is None else np.asarray(groups)[ok]
    if len(np.unique(y)) < 2:
        raise ValueError("the head needs training images of both classes")
    mu = x.mean(0)
    sigma = x.std(0) + 1e-6
    mask = np.ones(x.shape[1], dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    lr = LogisticRegression(C=C, max_iter=3000, random_state=seed)
    lr.fit(((x - mu) / sigma)[:, mask], y, sample_weight=balanced_weights(y, groups))
    w = np.zeros(x.shape[1])
    w[mask] = lr.coef_[0]
    return Head(mu, sigma, w, float(lr.intercept_[0]), C)


def predict_logits(head: Head, x: np.ndarray) -> np.ndarray:
    """Uncalibrated logits; NaN where a row of features is NaN."""
    return ((x - head.mu) / head.sigma) @ head.w + head.b


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The T > 0 minimising the log-loss of sigmoid(logits / T) (Guo et al. 2017). Validation data only."""
    z, y = np.asarray(logits, float), np.asarray(y, float)
    if len(z) == 0 or len(np.unique(y)) < 2:
        return 1.0

    def nll(log_t: float) -> float:
        s = z / np.exp(log_t)
        return float(np.mean(np.logaddexp(0.0, s) - y * s))

    res = minimize_scalar(nll, bounds=(np.log(0.05), np.log(50.0)), method="bounded")
    return float(np.exp(res.x))


def calibrate(z_val: np.ndarray, y_val: np.ndarray, min_per_class: int, log=print) -> tuple[dict, dict]:
    """Temperature and threshold from uncalibrated validation logits (never test), for any detector:
    (checkpoint metadata {threshold, threshold_source, temperature, n_val, metrics}, validation metrics)."""
    ok = np.isfinite(z_val)
    temperature = fit_temperature(z_val[ok], y_val[ok])
    p_val = sigmoid(z_val[ok] / temperature)
    threshold, source, n_val = validation_threshold(y_val[ok], p_val, min_per_class)
    if source.startswith("default"):
        log(f"warning: {source}")
    val_metrics = binary_metrics(y_val[ok], p_val, threshold) if ok.any() else {}
    if ok.any():
        val_metrics["ece"] = expected_calibration_error(y_val[ok], p_val)
    meta = {
        "threshold": threshold,
        "threshold_source": source,
        "temperature": temperature,
        "n_val": n_val,
        "metrics": {"val": val_metrics},
    }
    return meta, val_metrics


def load_into(net, head: Head, temperature: float) -> None:
    """Copy a fitted head and temperature into a :class:`CalibratedHead` (any frozen detector)."""
    with torch.no_grad():
        net.mu.copy_(torch.as_tensor(head.mu, dtype=torch.float32))
        net.sigma.copy_(torch.as_tensor(head.sigma, dtype=torch.float32))
        net.head.weight.copy_(torch.as_tensor(head.w, dtype=torch.float32)[None])
        net.head.bias.fill_(head.b)
        net.temperature.fill_(temperature)
