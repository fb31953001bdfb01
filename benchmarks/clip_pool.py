"""A pixel detector on CLIP block features, judged as the shipped one is (issue 30, item 4):
leave-one-dataset-out over the pool and the held-out playground100, with tiers chosen on
out-of-source scores only. Writes the RESULTS.md section "clip-pool".

The head: a standardised logistic regression (ridge 0.01, both classes weighted equally; the
kshot benchmark's prior, fixed before any test figure was seen) on `clip-b16` features of native
crops (realorai.features), trained on the two-class pool sets and srbench142's reals. LODO: each
two-class pool set scored by the head fitted without it (as is, and with both of its classes
re-processed alike: centre square, 512 px, JPEG q90). The out-of-source scores of every pool set
(srbench142 too) give the Platt map and the tier bounds (realorai.tiers, 90% right, 30 images a
tail); playground100 is scored by the head fitted on the whole pool, never tuned on.

    python benchmarks/clip_pool.py [--features clip-b16]   # features cached by benchmarks/kshot.py
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from kshot_features import POOL, _cached, frame, registry_features  # noqa: E402
from reproduce_report import machine, replace_section  # noqa: E402

from realorai.detector.adapt import LinearHead, fit_toward  # noqa: E402
from realorai.tiers import TARGET, choose_tiers, fit_platt, likely_counts, roc_auc, tier_of  # noqa: E402

REALS = "srbench142"
LAM = 0.01


def features(fs: str, name: str, data: Path, cache: Path, reprocess: bool = False) -> tuple[pd.DataFrame, np.ndarray]:
    df = frame(data, name, cache) if name != REALS else _reals(data, cache)
    tag = f"{fs}-{name}" + ("-re" if reprocess else "")
    x = _cached(cache / f"{tag}.npz", lambda: registry_features(fs, df["path"].tolist(), reprocess))["x"]
    ok = np.isfinite(x).all(1)
    return df[ok].reset_index(drop=True), x[ok]


def _reals(data: Path, cache: Path) -> pd.DataFrame:
    from realorai.data.manifest import scan, usable

    df = usable(scan(data / REALS, show_progress=False))
    df = df[df["label"] == "real"].sort_values("path").reset_index(drop=True)
    return pd.DataFrame({"path": df["path"], "y": 0, "group": df["dup_group"].astype(str)})


def head_on(parts: list[tuple[pd.DataFrame, np.ndarray]]) -> LinearHead:
    x = np.concatenate([p[1] for p in parts])
    y = np.concatenate([p[0]["y"].to_numpy() for p in parts])
    zero = LinearHead(x.mean(0), x.std(0) + 1e-6, np.zeros(x.shape[1]), 0.0)
    return fit_toward(x, y, zero, lam=LAM)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--features", default="clip-b16")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--cache", type=Path, default=ROOT / "runs" / "kshot")
    ap.add_argument("--doc", type=Path, default=ROOT / "docs" / "RESULTS.md")
    args = ap.parse_args()
    fs = args.features
    train = {n: features(fs, n, args.data, args.cache) for n in (*POOL, REALS)}
    lines = ["| set | images | LODO ROC-AUC as is | both classes re-processed alike |", "|---|---|---|---|"]
    oos_z, oos_y, oos_src, aucs, aucs_re = [], [], [], [], []
    for name in (*POOL, REALS):
        head = head_on([v for n, v in train.items() if n != name])
        df, x = train[name]
        z = head.logits(x)
        oos_z.append(z), oos_y.append(df["y"].to_numpy()), oos_src.append(np.full(len(z), name))
        if name == REALS:
            continue
        df_re, x_re = features(fs, name, args.data, args.cache, reprocess=True)
        a, a_re = roc_auc(z, df["y"].to_numpy()), roc_auc(head.logits(x_re), df_re["y"].to_numpy())
        aucs.append(a), aucs_re.append(a_re)
        lines.append(f"| {name} | {len(df)} | {a:.3f} | {a_re:.3f} |")
    lines.append(f"| **mean** | | **{np.mean(aucs):.3f}** | **{np.mean(aucs_re):.3f}** |")
    z, y, src = np.concatenate(oos_z), np.concatenate(oos_y), np.concatenate(oos_src)
    a, b = fit_platt(z, y)
    tiers = choose_tiers(1 / (1 + np.exp(-(a * z + b))), y, src, TARGET, how="out-of-source folds, pool sets")
    full = head_on(list(train.values()))
    pg, x_pg = features(fs, "playground100", args.data, args.cache)
    pg_re, x_pg_re = features(fs, "playground100", args.data, args.cache, reprocess=True)
    p = 1 / (1 + np.exp(-(a * full.logits(x_pg) + b)))
    auc_pg = roc_auc(full.logits(x_pg), pg["y"].to_numpy())
    auc_pg_re = roc_auc(full.logits(x_pg_re), pg_re["y"].to_numpy())
    counts = likely_counts([tier_of(v, tiers) for v in p], pg["y"].to_numpy())
    text = "\n".join([
        "## A pool head on CLIP blocks, judged as the shipped detector (`benchmarks/clip_pool.py`)\n",
        f"- Command: `{shlex.join(['python', 'benchmarks/clip_pool.py', *sys.argv[1:]])}` (features: `{fs}`; "
        "cached by `python benchmarks/kshot.py --features clip-b16 [--reprocess]`)",
        f"- Machine: {machine()}",
        "- Shipped detector for comparison (docs/MODEL_CARD.md): LODO mean 0.60, playground100 0.64, no tier",
        "", *lines, "",
        f"- playground100 (held out; head on the whole pool): ROC-AUC {auc_pg:.3f} as is, {auc_pg_re:.3f} with both "
        "classes re-processed alike",
        f"- Tiers from the out-of-source scores: likely AI from {tiers.likely_ai_from}, likely real below "
        f"{tiers.likely_real_below} (best tails {tiers.best_ai and round(tiers.best_ai, 3)} / "
        f"{tiers.best_real and round(tiers.best_real, 3)} right); on playground100 {counts['likely']} likely "
        f"verdicts of {len(pg)}, {counts['wrong']} wrong",
    ])  # fmt: skip
    replace_section(args.doc, "clip-pool", text)
    print(text)


if __name__ == "__main__":
    main()
