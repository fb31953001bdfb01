"""Adapting a linear head to one source from a few labelled examples, without overfitting.

The head is a logistic regression on a frozen feature set, pulled toward a *prior* head (the
shipped one, or any head that never saw the source) by a ridge penalty on the difference:

    minimise  mean_i s_i * logloss(y_i, x_i . w + b)  +  lam / 2 * ||w - w0||^2

on features standardised by the prior's (mu, sigma), with s_i giving both classes equal weight.
lam -> infinity keeps the prior; lam -> 0 forgets it. lam is the one choice, made by k-fold
cross-validation on the examples with folds that keep near-duplicate groups (and every view of
an image) together; the out-of-fold scores of that same cross-validation are what the adapted
model reports (ROC-AUC with an interval, false-positive rate and recall) and what its P(AI) and
tiers are fitted on. All examples are used for the final fit. Pure numpy: the light install adapts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from realorai.tiers import damped_newton

LAMBDAS = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)  # weight of the pull toward the prior
MAX_FOLDS = 5


@dataclass(frozen=True)
class LinearHead:
    """``z = ((x - mu) / sigma) . w + b``: raw features to an uncalibrated logit."""

    mu: np.ndarray
    sigma: np.ndarray
    w: np.ndarray
    b: float

    def logits(self, x: np.ndarray) -> np.ndarray:
        return ((np.asarray(x, float) - self.mu) / self.sigma) @ self.w + self.b


@dataclass
class CrossValidation:
    """What k-fold cross-validation on the examples gave: the chosen lam, its out-of-fold logits
    (``oof``, one per image as given; ``oof_views``, its augmented views: the same images
    rescaled, cropped, blurred, re-encoded) and per-lam ROC-AUC."""

    lam: float
    oof: np.ndarray
    y: np.ndarray
    folds: int
    by_lam: dict = field(default_factory=dict)
    oof_views: np.ndarray = field(default_factory=lambda: np.zeros(0))
    y_views: np.ndarray = field(default_factory=lambda: np.zeros(0))


def class_weights(y: np.ndarray) -> np.ndarray:
    """Both classes carry half the total weight; mean 1."""
    y = np.asarray(y).astype(int)
    w = np.where(y == 1, 0.5 / max(1, (y == 1).sum()), 0.5 / max(1, (y == 0).sum()))
    return w * len(y)


def fit_toward(x: np.ndarray, y: np.ndarray, prior: LinearHead, lam: float, iters: int = 50) -> LinearHead:
    """The head minimising the weighted log-loss plus ``lam / 2 * ||w - prior.w||^2`` (Newton
    steps, halved until the loss falls). The bias is (nearly) free; standardisation stays the
    prior's. With more features than rows the same objective is solved in the rows' space."""
    xs = (np.asarray(x, float) - prior.mu) / prior.sigma
    if xs.shape[1] > len(xs):
        return _fit_toward_dual(xs, np.asarray(y, float), prior, lam, iters)
    y = np.asarray(y, float)
    s = class_weights(y) / len(y)
    X = np.hstack([xs, np.ones((len(xs), 1))])
    theta = np.r_[prior.w, prior.b].astype(float)
    pen = np.r_[np.full(len(prior.w), lam), 1e-8]
    target = np.r_[prior.w, 0.0]

    def loss(t: np.ndarray) -> float:
        z = X @ t
        return float(np.sum(s * (np.logaddexp(0, z) - y * z)) + 0.5 * np.sum(pen * (t - target) ** 2))

    theta = damped_newton(loss, lambda t: _grad_hess(X, y, s, t, pen, target), theta, iters)
    return LinearHead(prior.mu, prior.sigma, theta[:-1], float(theta[-1]))


def _grad_hess(X, y, s, theta, pen, target):
    p = 1 / (1 + np.exp(-(X @ theta)))
    grad = X.T @ (s * (p - y)) + pen * (theta - target)
    hess = (X * (s * p * (1 - p))[:, None]).T @ X + np.diag(pen)
    return grad, hess


BIAS_SCALE = 100.0  # the bias as a feature of this value: its pull is lam / BIAS_SCALE^2, nearly free


def _fit_toward_dual(xs: np.ndarray, y: np.ndarray, prior: LinearHead, lam: float, iters: int) -> LinearHead:
    """The same objective with w - prior.w = X^T alpha (the representer theorem): Newton in the
    n rows' space, for feature sets wider than the examples (CLIP, multiscale: 512-2,848)."""
    s = class_weights(y) / len(y)
    X = np.hstack([xs, np.full((len(xs), 1), BIAS_SCALE)])
    K = X @ X.T
    offset = xs @ prior.w + prior.b

    def loss(a: np.ndarray) -> float:
        z = offset + K @ a
        return float(np.sum(s * (np.logaddexp(0, z) - y * z)) + 0.5 * lam * a @ K @ a)

    def grad_hess(a: np.ndarray):
        # In the rows' space the Newton system K (W K + lam I) d = K (g + lam a) reduces to
        # (W K + lam I) d = g + lam a.
        p = 1 / (1 + np.exp(-(offset + K @ a)))
        return s * (p - y) + lam * a, (s * p * (1 - p))[:, None] * K + lam * np.eye(len(a))

    alpha = damped_newton(loss, grad_hess, np.zeros(len(xs)), iters)
    v = X.T @ alpha
    return LinearHead(prior.mu, prior.sigma, prior.w + v[:-1], float(prior.b + BIAS_SCALE * v[-1]))


def grouped_folds(y: np.ndarray, groups: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """A fold number per row: whole groups dealt round-robin within each class after a seeded
    shuffle (stratified, like StratifiedGroupKFold for groups of one class)."""
    y, groups = np.asarray(y).astype(int), np.asarray(groups).astype(str)
    fold = np.zeros(len(y), dtype=int)
    rng = np.random.default_rng(seed)
    for c in (0, 1):
        names = np.unique(groups[y == c])
        rng.shuffle(names)
        for i, g in enumerate(names):
            fold[groups == g] = i % k
    return fold


def n_folds(y: np.ndarray, groups: np.ndarray) -> int:
    """As many folds as the rarer class has groups, at most MAX_FOLDS (0: cannot cross-validate)."""
    y, groups = np.asarray(y).astype(int), np.asarray(groups).astype(str)
    per_class = min(len(np.unique(groups[y == c])) for c in (0, 1))
    return min(MAX_FOLDS, per_class) if per_class >= 2 else 0


@dataclass(frozen=True)
class Examples:
    """Rows to adapt on: features ``x``, labels ``y`` (1 = AI), each row's group (an image with
    its views, or a near-duplicate group: never split between folds) and whether it is an image
    as given (``clean``) or one of its augmented views."""

    x: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    clean: np.ndarray


# Repetitions of the k-fold draw. One draw's estimate depends on how the few groups fell into
# folds; averaging 3 brought the cross-validated ROC-AUC closer to the figure measured on the
# set's other images (experiments/repeated_cv.py, the five pool sets: mean absolute gap 0.055 ->
# 0.047 at K = 25, 0.086 -> 0.071 at K = 10, 0.037 -> 0.031 at K = 50; 5 draws no better).
REPEATS = 3


def cross_validate(
    ex: Examples, prior: LinearHead, lambdas: tuple[float, ...] = LAMBDAS, seed: int = 0, repeats: int = REPEATS
) -> CrossValidation:
    """Choose lam by grouped k-fold CV, repeated over ``repeats`` fold draws. Rows are clean
    images and their augmented views (``clean`` marks the former); a group (an image with its
    views, or a near-duplicate group) never straddles folds. Held-out images are scored as given
    and, when there are views, as their views too: the choice is made on both (a head must hold
    when images are re-processed), ties going to the larger lam (closer to the prior). The
    out-of-fold logits returned are each row's mean over the draws."""
    from realorai.tiers import roc_auc

    x, y, groups, clean = ex.x, np.asarray(ex.y), ex.groups, ex.clean
    k = n_folds(y, groups)
    if k < 2:
        raise ValueError("cross-validation needs at least two distinct images (groups) of each class")
    draws = [grouped_folds(y, groups, k, seed + 1000 * r) for r in range(repeats)]
    views = bool((~clean).any())
    by_lam, oofs = {}, {}
    for lam in lambdas:
        aucs, oof_draws = [], []
        for fold in draws:
            oof = np.full(len(y), np.nan)
            for f in range(k):
                oof[fold == f] = fit_toward(x[fold != f], y[fold != f], prior, lam).logits(x[fold == f])
            held = [roc_auc(oof[clean], y[clean])] + ([roc_auc(oof[~clean], y[~clean])] if views else [])
            aucs.append(np.mean(held))
            oof_draws.append(oof)
        by_lam[lam] = float(np.mean(aucs))
        oofs[lam] = np.mean(oof_draws, axis=0)
    best = max(lambdas, key=lambda lam: (round(by_lam[lam], 6), lam))
    oof = oofs[best]
    return CrossValidation(best, oof[clean], y[clean], k, by_lam, oof[~clean], y[~clean])


def bootstrap_auc_interval(scores: np.ndarray, y: np.ndarray, n: int = 1000, seed: int = 0) -> tuple[float, float]:
    """A 95% percentile interval of ROC-AUC, resampling images within each class."""
    from realorai.tiers import roc_auc

    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    aucs = []
    for _ in range(n):
        idx = np.r_[rng.choice(pos, len(pos)), rng.choice(neg, len(neg))]
        aucs.append(roc_auc(scores[idx], y[idx]))
    return float(np.percentile(aucs, 2.5)), float(np.percentile(aucs, 97.5))


MIN_TAIL = 8  # out-of-fold images a tier of an adapted model needs (few examples: fewer than the 30 of a pool)
# A tier's share right must reach the target at this Wilson lower bound: out-of-fold shares on a
# few dozen examples are optimistic (benchmarks/kshot.py, K = 25 and 50 on the five pool sets: of
# the "likely" verdicts given on new images, 10.3-10.9% were wrong with the plain share; with
# z = 0.5 6.1-11.8%, with z = 0.75 5.5-9.1%, also when both classes are re-processed alike; z = 1
# gave no tier). Chosen on the pool sets only, never on playground100.
TIER_Z = 0.75
# With fewer held-out examples of a class than this, no tier is believed at all (K = 10 a class:
# 27-32% of the "likely" verdicts given on new images of the pool sets were wrong).
MIN_PER_CLASS_TIERS = 20


@dataclass
class Adapted:
    """A head adapted to one source: the head, its Platt map (a, b) fitted on the out-of-fold
    logits, the cross-validation behind it and the tiers chosen on the same out-of-fold scores."""

    head: LinearHead
    a: float
    b: float
    cv: CrossValidation
    tiers: object  # realorai.tiers.Tiers

    def p_ai(self, x: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-(self.a * self.head.logits(x) + self.b)))

    def p_oof(self) -> np.ndarray:
        """P(AI) of each example as given, scored by the folds that held it out."""
        return 1 / (1 + np.exp(-(self.a * self.cv.oof + self.b)))


def adapt_head(ex: Examples, prior: LinearHead, seed: int = 0, min_tail: int = MIN_TAIL, z: float = TIER_Z) -> Adapted:
    """Cross-validate lam, fit on every example, calibrate and choose tiers on the out-of-fold scores."""
    from realorai.tiers import TARGET, Tiers, choose_tiers, fit_platt

    cv = cross_validate(ex, prior, seed=seed)
    head = fit_toward(ex.x, ex.y, prior, cv.lam)
    n = len(cv.y)
    per_image = 1 + len(cv.oof_views) // max(1, n)
    processed = f" and {per_image - 1} re-processed views of each" if per_image > 1 else ""
    how = f"{cv.folds}-fold cross-validation on the {n} examples it was adapted on{processed} (held-out examples)"
    # Calibration and tiers rest on the held-out examples as given *and* re-processed: verdicts
    # must hold for copies of the source's images that were re-encoded or resized on the way.
    z_all, y_all = np.r_[cv.oof, cv.oof_views], np.r_[cv.y, cv.y_views]
    a, b = fit_platt(z_all, y_all, class_weights(y_all))
    scope = "held-out examples of the source it was adapted to"
    if a <= 0:  # cross-validation ranks the held-out examples no better than chance: no tier
        tiers = Tiers(available=True, target=TARGET, how=f"{how}; they could not be told apart", scope=scope)
        return Adapted(head, 0.0, 0.0, cv, tiers)
    p = 1 / (1 + np.exp(-(a * z_all + b)))
    fewest = int(min((cv.y == 0).sum(), (cv.y == 1).sum()))
    if fewest < MIN_PER_CLASS_TIERS:
        why = f"{how}; {fewest} examples of a class are too few to measure a tier (at least {MIN_PER_CLASS_TIERS})"
        return Adapted(head, a, b, cv, Tiers(available=True, target=TARGET, how=why, scope=scope))
    tiers = choose_tiers(p, y_all, np.full(len(p), "examples"), TARGET, min_tail, how=how, scope=scope, z=z,
                         rows_per_image=per_image)  # fmt: skip
    return Adapted(head, a, b, cv, tiers)


def prior_from_state(state: dict, meta: dict) -> LinearHead:
    """A frozen detector checkpoint's head as a prior, in the units of a plain logistic
    regression: its out-of-source Platt map (folded into the weights) is taken back out, so the
    pull is toward the head as fitted, not toward its compressed calibrated form."""
    platt = (meta.get("reliability") or {}).get("platt") or {"a": 1.0, "b": 0.0}
    t = float(np.asarray(state["temperature"]).reshape(()))
    w = np.asarray(state["head.weight"], float).reshape(-1) / platt["a"]
    b = (float(np.asarray(state["head.bias"]).reshape(-1)[0]) - platt["b"] * t) / platt["a"]
    return LinearHead(np.asarray(state["mu"], float), np.asarray(state["sigma"], float), w, b)


class AdaptedCropModel:
    """A base frozen detector (torch or ONNX) whose crops are scored by an adapted head:
    ``crop_logits`` as the scoring and heatmap code expect, ``a * head(features) + b``."""

    def __init__(self, base, head: LinearHead, a: float, b: float) -> None:
        self.base, self.head, self.a, self.b = base, head, a, b
        self.data_config = base.data_config
        self.num_features = getattr(base, "num_features", 0)  # what ``crop_features`` gives

    def eval(self) -> AdaptedCropModel:
        self.base.eval()
        return self

    def crop_features(self, crops: np.ndarray) -> np.ndarray:
        from realorai.detector.score import features_of_crops

        return features_of_crops(self.base, crops)

    def crop_logits(self, crops: np.ndarray) -> np.ndarray:
        return (self.a * self.head.logits(self.crop_features(crops)) + self.b).astype(np.float32)
