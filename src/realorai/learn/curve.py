"""What would bring a stream its missing tiers: a learning curve, or the examples in the way.

A tier needs a tail of held-out confirmations right 90% of the time at the lower end of a margin
for small samples (Wilson, ``TIER_Z``), and every narrower tail of ``MIN_TAIL`` or more right too.
For each missing tier, the best such tail (``best_lower``, nesting aside) tells which case it is:

* it already reaches the target: the tier is held back by a few confirmations at the very top
  of the tail labelled the other way. More examples will not fix that quickly; the reviewers can
  look at those (a mislabel, or a kind of image the rest of the stream does not show): "against".
* it does not: the same fit is repeated on 50% and 75% of the examples (whole near-duplicate
  groups, classes in proportion) and the best tail is fitted as a line in log(examples a class).
  Where that line reaches the target is the estimate ("more"): a rough guide for the reviewers,
  never a promise; a flat or falling curve says more of the same mix is unlikely to help.

Only computed when a tier is missing (the curve triples a fit's cost).
"""

from __future__ import annotations

import math

import numpy as np

FRACTIONS = (0.5, 0.75)
MOST = 10  # an estimate beyond 10x the examples is said as "more than 10x": a line that far is a guess


def best_lower(fit, from_top: bool) -> float | None:
    """The highest Wilson lower bound of the share right of any tail of ``MIN_TAIL`` or more of
    ``fit``'s held-out scores (None: too few)."""
    from realorai.detector.adapt import MIN_TAIL, TIER_Z
    from realorai.tiers import _tail_shares

    p = fit.p_oof()
    _, lower, count = _tail_shares(p, fit.cv.y == int(from_top), np.ones(len(p)), from_top, TIER_Z)
    big = count >= MIN_TAIL
    return float(lower[big].max()) if big.any() else None


def against(fit, from_top: bool) -> list[int]:
    """Indices of the examples labelled the other way among the ``MIN_TAIL`` most confident held-out
    scores of a tier: what keeps its narrowest tail under the target."""
    from realorai.detector.adapt import MIN_TAIL

    order = np.argsort(-fit.p_oof() if from_top else fit.p_oof(), kind="stable")[:MIN_TAIL]
    return [int(i) for i in order if fit.cv.y[i] != int(from_top)]


def _subset(y: np.ndarray, groups: np.ndarray, frac: float, rng) -> np.ndarray:
    """Indices of whole groups, about ``frac`` of each class."""
    keep = []
    for label in (0, 1):
        members = np.unique(groups[y == label])
        chosen = rng.permutation(members)[: max(2, round(frac * len(members)))]
        keep.append(np.flatnonzero(np.isin(groups, chosen) & (y == label)))
    return np.sort(np.concatenate(keep))


def what_would_help(ex, prior, fitted, target: float, seed: int = 0) -> dict:
    """For each missing tier of ``fitted`` (``adapt_head`` on all of ``ex``): {"against": [example
    indices]} or {"more": n a class (None: the curve does not rise), "curve": [[n, best], ...]}."""
    from realorai.detector.adapt import Examples, adapt_head

    bounds = (("likely_ai", True, fitted.tiers.likely_ai_from), ("likely_real", False, fitted.tiers.likely_real_below))
    missing = {tier: top for tier, top, bound in bounds if bound is None}
    out: dict = {}
    fits = None
    for tier, top in missing.items():
        best = best_lower(fitted, top)
        if best is not None and best >= target:
            out[tier] = {"against": against(fitted, top)}
            continue
        if fits is None:  # the curve's fits, shared by both tiers
            rng = np.random.default_rng(seed)
            fits = [(ex, fitted)]
            for frac in FRACTIONS:
                idx = _subset(ex.y, ex.groups, frac, rng)
                part = Examples(ex.x[idx], ex.y[idx], ex.groups[idx], ex.clean[idx])
                fits.insert(-1, (part, adapt_head(part, prior, seed=seed)))
        curve = [[min(int(e.y.sum()), int((1 - e.y).sum())), best_lower(f, top)] for e, f in fits]
        out[tier] = {"more": _extrapolate([c for c in curve if c[1] is not None], target), "curve": curve}
    return out


def _extrapolate(points: list[list], target: float) -> int | None:
    """Further examples a class where a line in log(n) through ``points`` reaches ``target``;
    None when it does not rise (or too few points)."""
    if len(points) < 2:
        return None
    n = np.array([p[0] for p in points], float)
    slope, intercept = np.polyfit(np.log(n), np.array([p[1] for p in points], float), 1)
    if slope <= 1e-3:
        return None
    needed = min(math.exp((target - intercept) / slope), MOST * n.max())
    return max(1, int(math.ceil(needed - n.max() - 1e-6)))


def say(helps: dict, entries: list[int] | None = None) -> str:
    """``what_would_help`` in words (``entries``: the bank entry of each example index)."""
    parts = []
    for tier, h in helps.items():
        words = tier.replace("_", " ")
        if "against" in h:
            ids = ", ".join(str(entries[i] if entries else i) for i in h["against"])
            parts.append(f"no '{words}' tier: its held-out scores reach 90% but for {len(h['against'])} confirmations "
                         f"at the top of the tail labelled otherwise (bank entries {ids}): check them, a mislabel or "
                         "a kind of image the rest of the stream does not show")  # fmt: skip
        elif h["more"] is None:
            parts.append(f"no '{words}' tier: its learning curve does not rise, so more confirmations of the same mix "
                         "are unlikely to bring one")  # fmt: skip
        elif h["more"] >= (MOST - 1) * max(c[0] for c in h["curve"]):
            parts.append(f"no '{words}' tier: more than {MOST}x the confirmations of each class would be needed")
        else:
            parts.append(f"no '{words}' tier yet: about {h['more']} more confirmations of each class would probably "
                         "bring one (a learning curve on 50%, 75% and all of them)")  # fmt: skip
    return "; ".join(parts)
