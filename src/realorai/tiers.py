"""Pixel tiers: "likely AI", "inconclusive", "likely real", with bounds chosen on out-of-source scores.

A pixel score is only worth a "likely" verdict where it was measured right on sources the model
never saw. The scores that measure it are *out-of-source*: each training dataset scored by the
same design trained without it (``detector.oos``). On those scores, pure functions here

* fit a Platt map ``P(AI) = sigmoid(a * z + b)`` of the logit, so that 0.8 means about 80% on
  new sources, not on the training sets' own validation split (``fit_platt``);
* choose the two tier bounds (``choose_tiers``): the lowest P(AI) from which every tail above it
  holds at least ``target`` AI images, and the highest below which every tail holds at least
  ``target`` real ones. Where no bound reaches the target, that tier is empty.

Precision depends on how many of the images checked are AI. Every figure here weighs the two
classes equally, and within a class every source equally (``balanced_weights``): "right 90% of
the time" is at a 50/50 mix of AI and real images from sources equally represented. No torch and
no scikit-learn: the light install applies tiers to every row.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

TIERS = ("likely_real", "inconclusive", "likely_ai")
TARGET = 0.9  # a "likely" verdict must have been right this often on unseen sources
MIN_TAIL = 30  # images (out of source) a tier needs before its share right is believed


@dataclass(frozen=True)
class Tiers:
    """Where P(AI) gives a "likely" verdict, and how right such verdicts were out of source.

    ``likely_ai_from``: P(AI) at or above it is "likely AI" (None: that tier is empty);
    ``likely_real_below``: P(AI) below it is "likely real" (None: empty). ``right_ai`` /
    ``right_real``: the share of out-of-source images in the tier whose label matched it (class-
    and source-balanced); ``n_ai`` / ``n_real`` how many images that is; ``inconclusive``: the
    share of out-of-source images left between the bounds. ``best_ai`` / ``best_real``: the
    highest share right of any tail of ``min_tail`` images or more (how close an empty tier came).
    ``how`` says how they were chosen, or why there are none (``available`` False: every pixel
    verdict is inconclusive)."""

    likely_ai_from: float | None = None
    likely_real_below: float | None = None
    right_ai: float | None = None
    right_real: float | None = None
    n_ai: int = 0
    n_real: int = 0
    inconclusive: float = 1.0
    target: float = TARGET
    available: bool = False
    how: str = "no out-of-source measurement: every pixel verdict is inconclusive"
    best_ai: float | None = None
    best_real: float | None = None
    per_source: dict = field(default_factory=dict)
    # Where the shares right were measured, as the sentences shown to users say it.
    scope: str = "sources it never saw"
    # Tiers a stream's drift guard took away, and why (realorai.learn.guard): said in every row's why.
    suspended: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> Tiers:
        if not d:
            return cls()
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)

    @classmethod
    def from_meta(cls, meta: dict) -> Tiers:
        """A checkpoint's tiers; a checkpoint without them (older, or trained on one dataset)
        has none, and says why."""
        rel = meta.get("reliability") or {}
        if rel.get("tiers"):
            return cls.from_dict(rel["tiers"])
        why = rel.get("reason") or (
            "this checkpoint records no out-of-source measurement (trained before tiers, or on one dataset)"
        )
        return cls(how=f"{why}: every pixel verdict is inconclusive")


def tier_of(p_ai: float | None, tiers: Tiers) -> str | None:
    """The tier of one P(AI) (unrounded); None without a score."""
    if p_ai is None or not np.isfinite(p_ai):
        return None
    if tiers.likely_ai_from is not None and p_ai >= tiers.likely_ai_from:
        return "likely_ai"
    if tiers.likely_real_below is not None and p_ai < tiers.likely_real_below:
        return "likely_real"
    return "inconclusive"


def likely_counts(tiers: list[str | None], y) -> dict:
    """How many "likely" verdicts ``tiers`` hold against labels ``y`` (1 = AI), how many of them
    were wrong, and how many are inconclusive."""
    t, y = np.asarray(tiers, dtype=object), np.asarray(y).astype(int)
    wrong = ((t == "likely_ai") & (y == 0)) | ((t == "likely_real") & (y == 1))
    likely = (t == "likely_ai") | (t == "likely_real")
    return {"n": int(len(t)), "likely": int(likely.sum()), "wrong": int(wrong.sum()),
            "inconclusive": int((t == "inconclusive").sum())}  # fmt: skip


def roc_auc(scores: np.ndarray, y: np.ndarray) -> float:
    """ROC-AUC by average ranks (ties count half); NaN with one class or no finite score. No
    scikit-learn: the light install measures adapted models too."""
    scores, y = np.asarray(scores, float), np.asarray(y).astype(int)
    ok = np.isfinite(scores)
    scores, y = scores[ok], y[ok]
    n1, n0 = int((y == 1).sum()), int((y == 0).sum())
    if not n1 or not n0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_scores)) + 1]
    ends = np.r_[starts[1:], len(scores)]
    for a, e in zip(starts, ends, strict=True):
        ranks[order[a:e]] = (a + e + 1) / 2  # the mean of ranks a+1 .. e
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def balanced_weights(y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Weights giving the two classes equal totals and, within a class, every group (source)
    equal totals: a real-only source shares the real half with the others."""
    y, groups = np.asarray(y).astype(int), np.asarray(groups).astype(str)
    w = np.zeros(len(y))
    for c in (0, 1):
        in_class = y == c
        names = np.unique(groups[in_class])
        for g in names:
            cell = in_class & (groups == g)
            w[cell] = 1.0 / (len(names) * cell.sum())
    return w / w.sum() * len(w) if w.sum() else w


def damped_newton(loss, grad_hess, theta: np.ndarray, iters: int = 100, tol: float = 1e-12) -> np.ndarray:
    """Newton steps on a convex ``loss``, each halved until the loss falls (plain Newton can
    diverge on logistic losses far from the optimum); ``grad_hess(theta)`` gives both."""
    current = loss(theta)
    for _ in range(iters):
        grad, hess = grad_hess(theta)
        step = np.linalg.solve(hess, grad)
        scale = 1.0
        while loss(theta - scale * step) > current and scale > 1e-6:
            scale /= 2
        theta = theta - scale * step
        new = loss(theta)
        if current - new < tol * max(1.0, abs(current)):
            break
        current = new
    return theta


def fit_platt(z: np.ndarray, y: np.ndarray, w: np.ndarray | None = None, iters: int = 100) -> tuple[float, float]:
    """(a, b) minimising the weighted log-loss of sigmoid(a z + b) (Platt 1999): Newton steps,
    halved until the loss falls (plain Newton can diverge on logistic losses), with a small ridge
    on ``a`` so that logits that do not separate the classes give a ~ 0, never a blow-up."""
    z, y = np.asarray(z, float), np.asarray(y, float)
    w = np.ones_like(z) if w is None else np.asarray(w, float)
    if len(np.unique(y)) < 2:
        raise ValueError("Platt scaling needs scores of both classes")
    X = np.stack([z, np.ones_like(z)], 1)
    ridge = 1e-6 * w.sum()

    def loss(theta: np.ndarray) -> float:
        s = X @ theta
        return float(np.sum(w * (np.logaddexp(0.0, s) - y * s)) + 0.5 * ridge * theta[0] ** 2)

    def grad_hess(theta: np.ndarray):
        p = 1.0 / (1.0 + np.exp(-(X @ theta)))
        grad = X.T @ (w * (p - y)) + ridge * np.array([theta[0], 0.0])
        return grad, (X * (w * p * (1 - p))[:, None]).T @ X + np.diag([ridge, 1e-12])

    theta = damped_newton(loss, grad_hess, np.zeros(2), iters)
    return float(theta[0]), float(theta[1])


def wilson_lower(share: np.ndarray, n: np.ndarray, z: float) -> np.ndarray:
    """Wilson's lower confidence bound of a share measured on ``n`` images (``z`` 0: the share)."""
    if z == 0:
        return share
    centre = share + z * z / (2 * n)
    spread = z * np.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n)


def _tail_shares(p: np.ndarray, hit: np.ndarray, w: np.ndarray, from_top: bool, z: float = 0.0, per_image: int = 1):
    """For the tails of ``p`` sorted from the top (or bottom): the candidate bound, the weighted
    share of ``hit`` in the tail (its Wilson lower bound when ``z`` > 0), and the count of images
    in it (``per_image`` scores of one image count as one: views of an image are not new images)."""
    order = np.argsort(-p if from_top else p, kind="stable")
    ps, hs, ws = p[order], hit[order], w[order]
    count = np.arange(1, len(ps) + 1) / per_image
    share = wilson_lower(np.cumsum(ws * hs) / np.cumsum(ws), count, z)
    # A tail ends where the next score differs: ties are all in or all out.
    last = np.r_[ps[1:] != ps[:-1], True]
    return ps[last], share[last], count[last]


def _best(p, hit, w, min_tail, from_top, per_image: int = 1) -> float | None:
    """The highest share right of any tail of at least ``min_tail`` images."""
    _, share, count = _tail_shares(p, hit, w, from_top, 0.0, per_image)
    big = count >= min_tail
    return float(share[big].max()) if big.any() else None


def _bound(p, hit, w, target, min_tail, from_top, z=0.0, per_image=1) -> tuple[float | None, float | None, int]:
    """The widest tail whose share right (or its lower bound), and that of every narrower tail of
    at least ``min_tail`` images inside it, reaches ``target``: (bound, share right, images)."""
    edges, lower, count = _tail_shares(p, hit, w, from_top, z, per_image)
    _, share, _ = _tail_shares(p, hit, w, from_top, 0.0, per_image)
    ok = (lower >= target) | (count < min_tail)
    # Widest k with ok[:k+1] all true and count[k] >= min_tail.
    bad = np.flatnonzero(~ok)
    end = bad[0] if len(bad) else len(edges)
    good = np.flatnonzero(count[:end] >= min_tail)
    if not len(good):
        return None, None, 0
    k = good[-1]
    return float(edges[k]), float(share[k]), int(count[k])


def _share_from(p, hit, w, bound, from_top) -> tuple[float | None, int]:
    """(weighted share of ``hit``, count) in the tail p >= bound (from_top) or p < bound."""
    m = p >= bound if from_top else p < bound
    return (float(np.sum(w[m] * hit[m]) / np.sum(w[m])) if m.any() else None), int(m.sum())


def _best_cut(p, y, w, lo: float, hi: float) -> float:
    """The cut in [lo, hi] with the best weighted balanced accuracy."""
    cuts = np.unique(np.r_[lo, p[(p >= lo) & (p <= hi)], hi])
    acc = [np.sum(w * ((p >= c) == (y == 1))) for c in cuts]
    return float(cuts[int(np.argmax(acc))])


def choose_tiers(
    p: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    target: float = TARGET,
    min_tail: int = MIN_TAIL,
    how: str = "",
    scope: str = "sources it never saw",
    z: float = 0.0,
    rows_per_image: int = 1,
) -> Tiers:
    """Tier bounds from out-of-source P(AI) ``p``, labels ``y`` (1 = AI) and each image's source.

    "likely AI" starts at the lowest P(AI) whose upper tail is at least ``target`` AI (class-
    and source-balanced) and stays so for every narrower tail of ``min_tail`` images or more;
    "likely real" mirrors it from below. A tail of fewer than ``min_tail`` images is never
    believed on its own; with ``z`` > 0 a tail's share must reach ``target`` at its Wilson lower
    bound (few images: a margin for the luck of a small sample)."""
    p, y, groups = np.asarray(p, float), np.asarray(y).astype(int), np.asarray(groups).astype(str)
    ok = np.isfinite(p)
    p, y, groups = p[ok], y[ok], groups[ok]
    if len(np.unique(y)) < 2:
        return Tiers(how="scores of one class only: every pixel verdict is inconclusive", scope=scope)
    w = balanced_weights(y, groups)
    ai_from, right_ai, n_ai = _bound(p, y == 1, w, target, min_tail, True, z, rows_per_image)
    real_edge, right_real, n_real = _bound(p, y == 0, w, target, min_tail, False, z, rows_per_image)
    # "likely real" is p < bound: the bound sits just above the tail's highest score.
    real_below = None if real_edge is None else float(np.nextafter(real_edge, np.inf))
    if ai_from is not None and real_below is not None and real_below > ai_from:
        # Both tails reach the target and overlap: any cut between them keeps both (every
        # narrower tail reaches it too); take the one with the best balanced accuracy.
        ai_from = real_below = _best_cut(p, y, w, ai_from, real_below)
        right_ai, n_ai = _share_from(p, y == 1, w, ai_from, True)
        right_real, n_real = _share_from(p, y == 0, w, real_below, False)
        n_ai, n_real = n_ai // rows_per_image, n_real // rows_per_image
    tiers = Tiers(ai_from, real_below, right_ai, right_real, n_ai, n_real, target=target, available=True, how=how)
    tiered = np.array([tier_of(v, tiers) for v in p])
    per_source = {}
    for g in np.unique(groups):
        m = groups == g
        per_source[str(g)] = {
            "n": int(m.sum()),
            "likely_ai": int((tiered[m] == "likely_ai").sum()),
            "likely_ai_wrong": int(((tiered[m] == "likely_ai") & (y[m] == 0)).sum()),
            "likely_real": int((tiered[m] == "likely_real").sum()),
            "likely_real_wrong": int(((tiered[m] == "likely_real") & (y[m] == 1)).sum()),
        }
    share = float(np.sum(w * (tiered == "inconclusive")) / w.sum())
    best_ai = _best(p, y == 1, w, min_tail, True, rows_per_image)
    best_real = _best(p, y == 0, w, min_tail, False, rows_per_image)
    return Tiers(
        ai_from, real_below, right_ai, right_real, n_ai, n_real, share, target, True, how, best_ai, best_real,
        per_source, scope,
    )  # fmt: skip
