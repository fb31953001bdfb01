"""Out-of-source scores inside one training run, and what they decide: P(AI)'s calibration for
new sources and the pixel tiers (``realorai.tiers``).

A detector is judged by how it does on sources it never saw, so its probabilities and its
"likely" verdicts are fitted on exactly that: for each training dataset D, the same design is
fitted on the other datasets (head chosen on their validation rows, temperature too) and scores
D's training and validation rows (never a test split). Those fold scores are what the shipped
design gives a source when trained without it. Frozen designs make this cheap: the features are
computed once and each fold only refits the linear head.
"""

from __future__ import annotations

import numpy as np
import torch

from realorai.detector.head import consistent_mask, fit_temperature, predict_logits
from realorai.metrics import roc_auc_or_nan
from realorai.tiers import TARGET, Tiers, balanced_weights, choose_tiers, fit_platt

METHOD = (
    "out-of-source folds: for each training dataset, the same design fitted on the others scored its "
    "training and validation images; Platt scaling and tier bounds fitted on those scores, classes "
    "and sources weighted equally"
)


def fold_logits(cfg, x, y, groups, f_val, y_val, val_groups, f_clean, train_groups, choose_head, log=print) -> dict:
    """{dataset: {"z": fold logits, "y": labels, "rows": ("train"|"val", index)}} for every dataset
    whose fold can be fitted (the others hold both classes); skipped datasets are logged."""
    out = {}
    names = sorted(set(np.asarray(train_groups)) | set(np.asarray(val_groups)))
    for d in names:
        keep, keep_val = groups != d, val_groups != d
        if len(np.unique(y[keep])) < 2:
            log(f"out-of-source fold {d}: skipped (the other datasets lack a class)")
            continue
        mask = None
        if cfg.consistent_margin is not None:
            mask = consistent_mask(x[keep], y[keep], groups[keep], cfg.consistent_margin)
        quiet = lambda m: None  # noqa: E731
        head, _ = choose_head(cfg, x[keep], y[keep], groups[keep], f_val[keep_val], y_val[keep_val], quiet, mask)
        z_val = predict_logits(head, f_val[keep_val])
        ok = np.isfinite(z_val)
        t = fit_temperature(z_val[ok], y_val[keep_val][ok])
        mine_train, mine_val = np.flatnonzero(train_groups == d), np.flatnonzero(val_groups == d)
        z = np.concatenate([predict_logits(head, f_clean[mine_train]), predict_logits(head, f_val[mine_val])]) / t
        labels = np.concatenate([y[: len(train_groups)][mine_train], y_val[mine_val]])
        rows = [("train", int(i)) for i in mine_train] + [("val", int(i)) for i in mine_val]
        out[d] = {"z": z, "y": labels, "rows": rows, "head": head, "temperature": t}
        log(f"out-of-source fold {d}: {len(z)} images scored by a head fitted without it (C={head.C:g}, T={t:.2f})")
    return out


def reliability(folds: dict, target: float = TARGET) -> tuple[dict, tuple[float, float] | None]:
    """(the checkpoint's ``reliability`` block, the Platt map (a, b) or None) from fold logits."""
    if len(folds) < 2:
        reason = (
            f"out-of-source scores need two or more training datasets whose folds can be fitted "
            f"(this run has {len(folds)})"
        )
        return {"method": METHOD, "reason": reason, "tiers": None}, None
    z = np.concatenate([f["z"] for f in folds.values()])
    y = np.concatenate([f["y"] for f in folds.values()])
    g = np.concatenate([[d] * len(f["z"]) for d, f in folds.items()])
    ok = np.isfinite(z)
    z, y, g = z[ok], y[ok], g[ok]
    if len(np.unique(y)) < 2:
        return {"method": METHOD, "reason": "out-of-source scores hold one class only", "tiers": None}, None
    a, b = fit_platt(z, y, balanced_weights(y, g))
    if a <= 0:  # out of source the score ranks the classes backwards: no tier, and no inverted detector
        how = (
            f"{METHOD}; out of source the scores ranked the classes backwards (Platt slope {a:.3f}), so P(AI) "
            "keeps its validation calibration and every pixel verdict is inconclusive"
        )
        tiers = Tiers(available=True, how=how, inconclusive=1.0, target=target)
        return {"method": METHOD, "reason": how, "platt": None, "tiers": tiers.to_dict()}, None
    p = 1.0 / (1.0 + np.exp(-(a * z + b)))
    tiers = choose_tiers(p, y, g, target, how=METHOD)
    per_set = {}
    for d in np.unique(g):
        m = g == d
        per_set[str(d)] = {"n": int(m.sum()), "ai": int(y[m].sum()), "roc_auc": _auc_or_none(y[m], p[m])}
    block = {
        "method": METHOD,
        "datasets": sorted(map(str, np.unique(g))),
        "n": int(len(z)),
        "platt": {"a": a, "b": b},
        "roc_auc_pooled": _auc_or_none(y, p),
        "per_dataset": per_set,
        "tiers": tiers.to_dict(),
    }
    return block, (a, b)


def _auc_or_none(y: np.ndarray, s: np.ndarray) -> float | None:
    auc = roc_auc_or_nan(y, s)
    return None if np.isnan(auc) else auc


def fold_platt_into(net, a: float, b: float) -> None:
    """Make the network output sigmoid(a z + b) where it gave sigmoid(z): ``z = head(f) / T``, so
    head weight and bias scale by ``a`` and the bias gains ``b T``. Exact, and the ONNX graph
    exported from it carries the same calibration."""
    with torch.no_grad():
        t = float(net.temperature)
        net.head.weight.mul_(a)
        net.head.bias.mul_(a).add_(b * t)


def calibrated_threshold(threshold: float, a: float, b: float) -> float:
    """The same decision rule on the recalibrated scale (the map is monotone when a > 0)."""
    t = min(max(threshold, 1e-12), 1 - 1e-12)
    z = np.log(t / (1 - t))
    return float(1.0 / (1.0 + np.exp(-(a * z + b))))


__all__ = ["METHOD", "Tiers", "calibrated_threshold", "fold_logits", "fold_platt_into", "reliability"]
