"""Which CLIP blocks carry to unseen sources, and does weighting them help (issue 30, item 4)?

On the all-blocks cache of experiments/clip_all_blocks.py (blocks 0-10, class token + mean patch
token), every design is judged as benchmarks/clip_pool.py judges the `clip-b16` head: LODO over
the five two-class pool sets (srbench142's reals always in training), as is and with the left-out
set's classes re-processed alike, and playground100 scored by the design fitted on the whole pool;
the tails a tier would rest on come from the out-of-source scores (Platt map, 90% right).
The head is always clip_pool's (standardised logistic regression, ridge 0.01, fixed beforehand).

- one block k alone (1,536 values), k = 0..10;
- every block side by side (16,896);
- a learned weighting over blocks (RINE's idea, simplified to stacking): one head per block, then
  non-negative weights over the 11 block logits fitted on out-of-source logits of the training
  sets (nested leave-one-set-out), never on the left-out set;
- the consistent-direction rule (realorai.detector.head.consistent_mask, margin 0.02): only the
  features whose per-set ROC-AUC is on the same side of 0.5 in every training set.

    python experiments/clip_block_weighting.py
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from clip_pool import REALS, head_on  # noqa: E402
from kshot_features import POOL, frame  # noqa: E402

from realorai.detector.adapt import LinearHead, class_weights  # noqa: E402
from realorai.detector.head import consistent_mask  # noqa: E402
from realorai.tiers import TARGET, choose_tiers, fit_platt, likely_counts, roc_auc, tier_of  # noqa: E402

WIDTH, BLOCKS = 1536, 11


def load(cache: Path, data: Path, name: str, suffix: str = ""):
    from clip_pool import _reals

    df = _reals(data, cache) if name == REALS else frame(data, name, cache)
    x = np.load(cache / f"clip-b16-all-{name}{suffix}.npz")["x"].astype(np.float64)
    ok = np.isfinite(x).all(1)
    return df[ok].reset_index(drop=True)["y"].to_numpy(), x[ok]


def block(x: np.ndarray, k: int) -> np.ndarray:
    return x[:, k * WIDTH : (k + 1) * WIDTH]


class Single:
    """A head on chosen columns (a block, all blocks, or the consistent ones)."""

    def __init__(self, cols=None, consistent: bool = False) -> None:
        self.cols, self.consistent = cols, consistent

    def fit(self, parts):
        xs = [(y, x if self.cols is None else x[:, self.cols]) for y, x, _ in parts]
        if self.consistent:
            x = np.concatenate([x for _, x in xs])
            y = np.concatenate([y for y, _ in xs])
            groups = np.concatenate([np.full(len(y), i) for i, (y, _) in enumerate(xs)])
            self.mask = consistent_mask(x, y, groups, 0.02)
            xs = [(y, x[:, self.mask]) for y, x in xs]
        self.head = fast_head([y for y, _ in xs], [x for _, x in xs])
        return self

    def logits(self, x):
        x = x if self.cols is None else x[:, self.cols]
        return self.head.logits(x[:, self.mask] if self.consistent else x)


class Stacked:
    """Per-block heads, combined by non-negative weights learned on out-of-source block logits."""

    def fit(self, parts):
        from scipy.optimize import minimize

        z, ys = [], []
        for i in range(len(parts)):  # nested: each training set scored by heads fitted without it
            rest = [p for j, p in enumerate(parts) if j != i]
            heads = [Single(_cols(k)).fit(rest) for k in range(BLOCKS)]
            z.append(np.stack([h.logits(parts[i][1]) for h in heads], 1)), ys.append(parts[i][0])
        z, y = np.concatenate(z), np.concatenate(ys).astype(float)
        self.scale = z.std(0) + 1e-6
        zs = z / self.scale
        w = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean())) / len(y)

        def loss(t):
            s = zs @ t[:-1] + t[-1]
            p = 1 / (1 + np.exp(-s))
            g = zs.T @ (w * (p - y)) + 0.01 * t[:-1]
            return float(np.sum(w * (np.logaddexp(0, s) - y * s)) + 0.005 * t[:-1] @ t[:-1]), np.r_[
                g, np.sum(w * (p - y))
            ]

        res = minimize(loss, np.r_[np.full(BLOCKS, 0.1), 0.0], jac=True, method="L-BFGS-B",
                       bounds=[(0, None)] * BLOCKS + [(None, None)])  # fmt: skip
        self.alpha = res.x[:-1]
        self.heads = [Single(_cols(k)).fit(parts) for k in range(BLOCKS)]
        return self

    def logits(self, x):
        return (np.stack([h.logits(x) for h in self.heads], 1) / self.scale) @ self.alpha


def fast_head(ys: list[np.ndarray], xs: list[np.ndarray], lam: float = 0.01) -> LinearHead:
    """clip_pool.head_on's optimum (class-balanced log-loss + lam/2 ||w||^2 on standardised
    features, the bias free) by L-BFGS instead of Newton: ~10x faster at 1,536 features, the same
    head to the solver's tolerance (checked: `--check`)."""
    from scipy.optimize import minimize

    x, y = np.concatenate(xs), np.concatenate(ys).astype(float)
    mu, sigma = x.mean(0), x.std(0) + 1e-6
    xs_ = (x - mu) / sigma
    s = class_weights(y) / len(y)

    def loss(t):
        z = xs_ @ t[:-1] + t[-1]
        p = 1 / (1 + np.exp(-z))
        r = s * (p - y)
        value = np.sum(s * (np.logaddexp(0, z) - y * z)) + 0.5 * lam * t[:-1] @ t[:-1]
        return float(value), np.r_[xs_.T @ r + lam * t[:-1], r.sum()]

    t = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B",
                 options={"maxiter": 2000, "gtol": 1e-7}).x  # fmt: skip
    return LinearHead(mu, sigma, t[:-1], float(t[-1]))


def _cols(k: int) -> slice:
    return slice(k * WIDTH, (k + 1) * WIDTH)


def _frame(y):
    import pandas as pd

    return pd.DataFrame({"y": y})


def judge(make, data, data_re, pg, pg_re) -> dict:
    """LODO (as is, re-processed alike), playground100, and tiers from the out-of-source scores
    of every pool set, srbench142 included (clip_pool's rule: 90% right, 30 images a tail)."""
    aucs, aucs_re, oos = {}, {}, []
    for name in (*POOL, REALS):
        model = make().fit([v for n, v in data.items() if n != name])
        z = model.logits(data[name][1])
        oos.append((z, data[name][0], np.full(len(z), name)))
        if name == REALS:
            continue
        aucs[name] = roc_auc(z, data[name][0])
        aucs_re[name] = roc_auc(model.logits(data_re[name][1]), data_re[name][0])
    z, y, src = (np.concatenate(c) for c in zip(*oos, strict=True))
    a, b = fit_platt(z, y)
    tiers = choose_tiers(1 / (1 + np.exp(-(a * z + b))), y, src, TARGET, how="out-of-source folds, pool sets")
    full = make().fit(list(data.values()))
    p_pg = 1 / (1 + np.exp(-(a * full.logits(pg[1]) + b)))
    counts = likely_counts([tier_of(v, tiers) for v in p_pg], pg[0])
    out = {
        "tails": [tiers.best_ai and round(tiers.best_ai, 3), tiers.best_real and round(tiers.best_real, 3)],
        "tiers": [tiers.likely_ai_from, tiers.likely_real_below],
        "playground100_likely": [counts["likely"], counts["wrong"]],
        "lodo": aucs,
        "lodo_mean": float(np.mean(list(aucs.values()))),
        "lodo_re_mean": float(np.mean(list(aucs_re.values()))),
        "playground100": roc_auc(full.logits(pg[1]), pg[0]),
        "playground100_re": roc_auc(full.logits(pg_re[1]), pg_re[0]),
    }
    if isinstance(full, Stacked):
        out["alpha"] = [round(float(a), 3) for a in full.alpha]
    if getattr(full, "consistent", False):
        out["consistent_features"] = int(full.mask.sum())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--cache", type=Path, default=ROOT / "runs" / "kshot")
    ap.add_argument("--as-is-only", action="store_true", help="no re-processed columns (their cache not built yet)")
    ap.add_argument("--only", default=None, help="comma-separated design labels (a trailing * matches a prefix)")
    ap.add_argument("--check", action="store_true", help="fast_head against clip_pool.head_on on block 6, then stop")
    args = ap.parse_args()
    data = {n: (*load(args.cache, args.data, n), n) for n in (*POOL, REALS)}
    if args.check:
        parts = [(y, x[:, _cols(6)]) for y, x, _ in data.values()]
        slow, fast = head_on([(_frame(y), x) for y, x in parts]), fast_head(*zip(*parts, strict=True))
        z = [(h.logits(parts[0][1])) for h in (slow, fast)]
        print(f"block 6 head: max |dz| {np.abs(z[0] - z[1]).max():.2e} of |z| up to {np.abs(z[0]).max():.2f}")
        return
    suffix = "" if args.as_is_only else "-re"  # as is twice: the re-processed columns then repeat the first
    data_re = {n: (*load(args.cache, args.data, n, suffix), n) for n in POOL}
    pg = load(args.cache, args.data, "playground100")
    pg_re = load(args.cache, args.data, "playground100", suffix)
    designs = {f"block {k}": (lambda k=k: Single(_cols(k))) for k in range(BLOCKS)}
    designs |= {"blocks 0-10 side by side": lambda: Single(),
                "block 6, consistent-direction rule": lambda: Single(_cols(6), consistent=True),
                "blocks 0-10, consistent-direction rule": lambda: Single(consistent=True),
                "learned weighting over blocks (stacked, non-negative)": lambda: Stacked()}  # fmt: skip
    wanted = args.only.split(",") if args.only else None  # e.g. --only "block 6,learned*"

    def chosen(label: str) -> bool:
        return wanted is None or any(label == w or (w.endswith("*") and label.startswith(w[:-1])) for w in wanted)

    designs = {k: v for k, v in designs.items() if chosen(k)}
    results = {}
    print("| design | " + " | ".join(POOL) + " | LODO mean | re-processed alike | playground100 | re-processed "
          "| best out-of-source tails (AI / real right) |")  # fmt: skip
    print("|---" * (len(POOL) + 6) + "|")
    for label, make in designs.items():
        r = judge(make, data, data_re, pg, pg_re)
        results[label] = r
        cells = " | ".join(f"{r['lodo'][n]:.3f}" for n in POOL)
        note = (f" alpha {r['alpha']}" if "alpha" in r else "") + (
            f" ({r['consistent_features']} features)" if "consistent_features" in r else "")  # fmt: skip
        print(f"| {label} | {cells} | **{r['lodo_mean']:.3f}** | {r['lodo_re_mean']:.3f} | {r['playground100']:.3f} | "
              f"{r['playground100_re']:.3f} | {r['tails'][0]} / {r['tails'][1]} |{note}", flush=True)  # fmt: skip
    if not args.as_is_only and args.only is None:
        (args.cache / "block-weighting.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
