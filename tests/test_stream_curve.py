"""What would bring a stream its missing tiers (issue 35, item 3): the confirmations in the way,
or a learning curve's estimate of how many more of each class."""

from __future__ import annotations

import numpy as np

from realorai.detector.adapt import Examples, adapt_head
from realorai.inference.adapt import neutral_prior
from realorai.learn.curve import _extrapolate, say, what_would_help


def examples(n: int, signal: float, seed: int = 0) -> Examples:
    rng = np.random.default_rng(seed)
    y = np.r_[np.ones(n), np.zeros(n)].astype(int)
    x = rng.normal(size=(2 * n, 6))
    x[:, 0] += signal * (2 * y - 1)
    return Examples(x, y, np.arange(2 * n).astype(str), np.ones(2 * n, bool))


def test_a_confident_mislabel_at_the_top_is_named_not_more_examples():
    ex = examples(40, 3.0)
    top = int(np.argmax(ex.x[:, 0]))  # the most AI-looking example, confirmed "real" by mistake
    ex.y[top] = 0
    fit = adapt_head(ex, neutral_prior(ex.x))
    assert fit.tiers.likely_ai_from is None  # one wrong at the very top empties the nested tier
    helps = what_would_help(ex, neutral_prior(ex.x), fit, 0.9)
    assert helps["likely_ai"] == {"against": [top]}
    words = say(helps, entries=[1000 + i for i in range(len(ex.y))])
    assert f"bank entries {1000 + top}" in words and "mislabel" in words


def test_labels_that_carry_nothing_are_not_promised_a_tier():
    ex = examples(40, 0.0, seed=3)
    fit = adapt_head(ex, neutral_prior(ex.x))
    helps = what_would_help(ex, neutral_prior(ex.x), fit, 0.9)
    assert helps and all("against" not in h for h in helps.values())
    for h in helps.values():  # never "a few more": the curve is flat, or the line is a guess far away
        assert h["more"] is None or h["more"] >= 9 * 40
    assert "unlikely to bring one" in say(helps) or "more than 10x" in say(helps)


def test_the_curve_is_a_line_in_log_examples():
    assert _extrapolate([[25, 0.80], [50, 0.85]], 0.90) == 50  # 0.05 per doubling: 100 a class
    assert _extrapolate([[25, 0.85], [50, 0.85]], 0.90) is None
    assert _extrapolate([[25, 0.85]], 0.90) is None
    assert "about 7 more" in say({"likely_real": {"more": 7, "curve": [[20, 0.8], [40, 0.85]]}})
