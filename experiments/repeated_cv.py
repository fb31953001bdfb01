"""Probe (issue 23): does repeating the adapted head's k-fold cross-validation over several fold
draws bring its ROC-AUC estimate closer to the figure measured on the set's other images?

    python experiments/repeated_cv.py [--repeats 1 3 5] [--views 4]

Uses benchmarks/kshot.py's cached early features and its protocol (same draws, same fold
priors, K = 10/25/50, 5 seeds, the five pool sets; playground100 left out: never tuned on).
Each repetition deals the groups into folds with another seed (`cross_validate(...,
repeats=R)`): lam is chosen on the per-lam ROC-AUC averaged over repetitions, and the estimate
is the ROC-AUC of the out-of-fold logits averaged over repetitions. Prints the mean absolute and
signed gap per K.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from kshot import MIN_TEST, draw, min_left  # noqa: E402
from kshot_features import load_features  # noqa: E402

from realorai.detector import adapt as A  # noqa: E402
from realorai.tiers import roc_auc  # noqa: E402


def repeated(ex: A.Examples, prior: A.LinearHead, repeats: int, seed: int) -> tuple[float, float]:
    """(chosen lam, ROC-AUC of the repetition-averaged out-of-fold logits of the clean images)."""
    cv = A.cross_validate(ex, prior, seed=seed, repeats=repeats)
    return cv.lam, roc_auc(cv.oof, cv.y)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", nargs="+", type=int, default=[1, 3, 5])
    ap.add_argument("--views", type=int, default=4)
    args = ap.parse_args()
    data, cache, run = ROOT.parent / "shared" / "data", ROOT / "runs" / "kshot", ROOT / "runs" / "default"
    feats = load_features("early", data, cache, run, None, args.views, False)
    sets = ["art500", "cifake2k", "game450", "museum111", "stylegan200"]
    gaps = {(r, k): [] for r in args.repeats for k in (10, 25, 50)}
    for name in sets:
        df, x, xv, prior = feats["frame"][name], feats["x"][name], feats["views"][name], feats["priors"][name]
        y_all = df["y"].to_numpy()
        for k in (10, 25, 50):
            if min_left(df, k) < MIN_TEST:
                continue
            for seed in range(5):
                train, test = draw(df, k, seed)
                n = len(train)
                ex = A.Examples(
                    np.concatenate([x[train], *[xv[v][train] for v in range(args.views)]]),
                    np.tile(y_all[train], 1 + args.views), np.tile(train.astype(str), 1 + args.views),
                    np.r_[np.ones(n, bool), np.zeros(args.views * n, bool)],
                )  # fmt: skip
                for r in args.repeats:
                    lam, est = repeated(ex, prior, r, seed)
                    measured = roc_auc(A.fit_toward(ex.x, ex.y, prior, lam).logits(x[test]), y_all[test])
                    gaps[(r, k)].append(est - measured)
        print(f"{name} done", flush=True)
    for (r, k), g in sorted(gaps.items()):
        g = np.array(g)
        print(f"repeats {r}, K = {k}: mean |gap| {np.abs(g).mean():.3f}, mean signed {g.mean():+.3f} ({len(g)} runs)")


if __name__ == "__main__":
    main()
