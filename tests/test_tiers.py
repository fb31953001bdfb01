"""Pixel tiers: bounds chosen on out-of-source scores only, Platt scaling, and the verdict rule."""

from __future__ import annotations

import numpy as np
import pytest

from realorai.provenance.findings import Finding, decide
from realorai.tiers import Tiers, balanced_weights, choose_tiers, fit_platt, tier_of


def _scores(rng, n, auc_shift, groups=("a", "b", "c")):
    """Made-up out-of-source fold scores: per source, AI scores shifted up by ``auc_shift``."""
    p, y, g = [], [], []
    for name in groups:
        y_s = np.r_[np.zeros(n), np.ones(n)]
        z = rng.normal(size=2 * n) + auc_shift * y_s
        p += list(1 / (1 + np.exp(-z)))
        y += list(y_s)
        g += [name] * (2 * n)
    return np.array(p), np.array(y), np.array(g)


def test_separable_sources_get_both_tiers_and_they_are_right():
    p, y, g = _scores(np.random.default_rng(0), 200, 4.0)
    t = choose_tiers(p, y, g, target=0.9)
    assert t.available and t.likely_ai_from is not None and t.likely_real_below is not None
    assert t.likely_real_below <= t.likely_ai_from
    assert t.right_ai >= 0.9 and t.right_real >= 0.9 and t.n_ai >= 30
    # the bound is the widest: one step lower, the tail is wrong too often or the same
    tiers = np.array([tier_of(v, t) for v in p])
    assert ((tiers == "likely_ai") & (y == 0)).sum() / max(1, (tiers == "likely_ai").sum()) <= 0.1
    assert 0 <= t.inconclusive < 1  # so separable that both tiers meet: no image is left between them


def test_scores_that_do_not_carry_leave_every_tier_empty():
    p, y, g = _scores(np.random.default_rng(1), 200, 0.3)
    t = choose_tiers(p, y, g, target=0.9)
    assert t.available and t.likely_ai_from is None and t.likely_real_below is None
    assert t.inconclusive == 1.0 and tier_of(0.99, t) == "inconclusive"
    assert t.best_ai is not None and t.best_ai < 0.9


def test_a_few_lucky_scores_never_make_a_tier():
    # 10 AI images at the very top, then nothing separable: a tail under MIN_TAIL is not believed.
    rng = np.random.default_rng(2)
    p = np.r_[np.full(10, 0.99), rng.uniform(0, 0.9, 400)]
    y = np.r_[np.ones(10), rng.integers(0, 2, 400)]
    t = choose_tiers(p, y, np.array(["a"] * 410), target=0.9, min_tail=30)
    assert t.likely_ai_from is None


def test_balanced_weights_give_classes_and_sources_equal_say():
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0])
    g = np.array(["a", "a", "a", "a", "b", "b", "b", "b", "b"])
    w = balanced_weights(y, g)
    assert np.isclose(w[y == 1].sum(), w[y == 0].sum())
    assert np.isclose(w[(y == 0) & (g == "a")].sum(), w[(y == 0) & (g == "b")].sum())


def test_platt_recovers_the_scale_and_survives_overconfident_logits():
    rng = np.random.default_rng(3)
    z = rng.normal(size=5000) * 8  # logits ten times too confident
    y = (rng.uniform(size=5000) < 1 / (1 + np.exp(-(0.1 * z + 0.2)))).astype(int)
    a, b = fit_platt(z, y)
    assert a == pytest.approx(0.1, abs=0.03) and b == pytest.approx(0.2, abs=0.1)
    a, _ = fit_platt(rng.normal(size=500), rng.integers(0, 2, 500))  # nothing to learn: a near 0
    assert abs(a) < 0.3


def test_tiers_come_from_out_of_source_folds_not_from_in_source_fit():
    """Two datasets whose telling feature flips direction between them: each fits its own
    perfectly (in-source AUC 1), but a head trained on one ranks the other backwards. The out-of-
    source folds must see that and leave the tiers empty; with a feature that agrees across
    datasets they must find both tiers."""
    pytest.importorskip("sklearn")
    from realorai.detector.fit import DetectorConfig, _choose_head
    from realorai.detector.oos import fold_logits, reliability

    rng = np.random.default_rng(4)

    def data(flip: bool):
        xs, ys, gs = [], [], []
        for d, sign in (("a", 1.0), ("b", -1.0 if flip else 1.0), ("c", 1.0 if flip else 1.0)):
            y = np.r_[np.zeros(120), np.ones(120)]
            x = rng.normal(size=(240, 4))
            x[:, 0] += sign * 3 * (2 * y - 1)
            if flip and d == "c":
                x[:, 0] = rng.normal(size=240)  # carries nothing
            xs.append(x)
            ys.append(y)
            gs += [d] * 240
        return np.concatenate(xs), np.concatenate(ys).astype(int), np.array(gs)

    cfg = DetectorConfig(c_grid=(0.1, 1.0))
    for flip, expect_tiers in ((True, False), (False, True)):
        x, y, g = data(flip)
        val = np.arange(len(y)) % 5 == 0
        folds = fold_logits(
            cfg, x[~val], y[~val], g[~val], x[val], y[val], g[val], x[~val], g[~val], _choose_head, lambda m: None
        )
        assert set(folds) == {"a", "b", "c"}
        block, platt = reliability(folds)
        t = Tiers.from_dict(block["tiers"])
        assert (t.likely_ai_from is not None) == expect_tiers, block


def test_a_model_without_out_of_source_scores_has_no_tiers():
    t = Tiers.from_meta({"model": "x"})
    assert not t.available and "inconclusive" in t.how
    assert tier_of(0.999, t) == "inconclusive" and tier_of(None, t) is None


C2PA_AI = Finding("c2pa", "Google: trainedAlgorithmicMedia", "strong", "ai")
C2PA_REAL = Finding("c2pa", "capture", "strong", "real")
WATERMARK = Finding("watermark", "SD watermark", "strong", "ai")
CAMERA = Finding("metadata", "camera EXIF", "weak", "real")


def test_verified_provenance_decides_over_any_tier():
    for tier in ("likely_real", "inconclusive", "likely_ai", None):
        assert decide([C2PA_AI], tier) == {"verdict": "ai", "basis": "provenance", "note": ""}
    assert decide([C2PA_REAL, CAMERA], "likely_ai")["verdict"] == "real"


def test_pixels_decide_otherwise_and_unsigned_claims_never_do():
    assert decide([], "likely_ai") == {"verdict": "likely_ai", "basis": "pixels", "note": ""}
    assert decide(None, "inconclusive")["verdict"] == "inconclusive"
    contradicted = decide([WATERMARK], "likely_real")
    assert contradicted["verdict"] == "inconclusive" and "can be added to any image" in contradicted["note"]
    assert decide([WATERMARK], "likely_ai")["verdict"] == "likely_ai"
    assert decide([WATERMARK], "inconclusive")["verdict"] == "inconclusive"  # a claim never decides
    both = decide([C2PA_AI, C2PA_REAL], "likely_real")
    assert both["verdict"] == "likely_real" and "contradict" in both["note"]
    assert decide([], None) == {"verdict": "inconclusive", "basis": "none", "note": ""}
