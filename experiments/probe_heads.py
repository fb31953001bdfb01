"""Probe: does the way the head is chosen decide how the frozen features carry across datasets?

The shipped design's features (mean and std of EfficientNet-Lite0's early stages, per crop,
averaged per image) are computed once for every image of the pool (cached in runs/), then each
leave-one-dataset-out fold fits a head on the four other two-class sets plus srbench142's reals
and scores the set left out (ROC-AUC), for these ways of choosing it:

* pooled: one logistic regression, (dataset, class) cells weighted equally, C = 0.1;
* inner-LODO C: C chosen by leave-one-dataset-out *inside* the training sets (model selection
  across domains, as DomainBed recommends), not on a validation split of the same sets;
* consistent features: only features whose direction (univariate ROC-AUC above or below 0.5)
  agrees in every training set, each by at least a margin, then the pooled head;
* group DRO: the head that minimises the worst training set's loss (Sagawa et al. 2020),
  by exponentiated reweighting of the sets.

A screen like experiments/probe_spectral.py (no augmentation, no calibration), not the protocol
of docs/DETECTOR.md; playground100 is never read.

    python experiments/probe_heads.py [--features early|multiscale]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from probe_spectral import POOL, dataset_items, early_features, image_crops_of  # noqa: E402


def image_features(paths: list[str], model) -> np.ndarray:
    from realorai.detector.crops import plan_of

    return np.stack([early_features(model, crops) for crops in image_crops_of(paths, plan_of(model))])


def load_features(data: Path, design: str, cap: int) -> dict:
    cache = ROOT / "runs" / f"probe-features-{design}.npz"
    if cache.exists():
        z = np.load(cache, allow_pickle=True)
        return z["feats"].item()
    from realorai.models import create_model

    model = create_model(f"detector-lite0-{design}", pretrained=True).eval()  # ImageNet weights, as trained
    feats = {}
    for name in (*POOL, "srbench142"):
        items = dataset_items(data, name, cap)
        print(f"{name}: {len(items)} images", file=sys.stderr, flush=True)
        feats[name] = {"x": image_features([p for p, _ in items], model), "y": np.array([y for _, y in items])}
    cache.parent.mkdir(exist_ok=True)
    np.savez(cache, feats=np.array(feats, dtype=object))
    return feats


def cell_weights(ys: list[np.ndarray]) -> np.ndarray:
    cells = np.concatenate([y + 2 * i for i, y in enumerate(ys)])
    w = 1.0 / np.bincount(cells)[cells]
    return w * len(w) / w.sum()


def fit_lr(xs: list[np.ndarray], ys: list[np.ndarray], c: float, weights: np.ndarray | None = None):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = np.concatenate(xs), np.concatenate(ys)
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=3000))
    clf.fit(x, y, logisticregression__sample_weight=cell_weights(ys) if weights is None else weights)
    return clf


def auc(y, s) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s))


def two_class(names, feats):
    return [n for n in names if len(np.unique(feats[n]["y"])) == 2]


def head_pooled(train, feats, c=0.1):
    return fit_lr([feats[n]["x"] for n in train], [feats[n]["y"] for n in train], c), None


def head_inner_lodo(train, feats, grid=(0.001, 0.01, 0.1, 1.0, 10.0)):
    inner = two_class(train, feats)
    scores = {}
    for c in grid:
        aucs = []
        for held in inner:
            rest = [n for n in train if n != held]
            clf = fit_lr([feats[n]["x"] for n in rest], [feats[n]["y"] for n in rest], c)
            aucs.append(auc(feats[held]["y"], clf.predict_proba(feats[held]["x"])[:, 1]))
        scores[c] = float(np.mean(aucs))
    best = max(scores, key=scores.get)
    return fit_lr([feats[n]["x"] for n in train], [feats[n]["y"] for n in train], best), {"C": best}


def head_consistent(train, feats, margin=0.03, c=0.1):
    inner = two_class(train, feats)
    per_set = np.stack(
        [[auc(feats[n]["y"], feats[n]["x"][:, j]) - 0.5 for j in range(feats[n]["x"].shape[1])] for n in inner]
    )
    keep = (np.all(per_set > margin, 0) | np.all(per_set < -margin, 0)).nonzero()[0]
    if len(keep) == 0:
        keep = np.argsort(-np.abs(per_set).min(0))[:5]
    sub = {n: {"x": feats[n]["x"][:, keep], "y": feats[n]["y"]} for n in train}
    clf = fit_lr([sub[n]["x"] for n in train], [sub[n]["y"] for n in train], c)
    return clf, {"features": int(len(keep)), "keep": keep}


def head_group_dro(train, feats, c=0.1, eta=2.0, rounds=15):
    names = list(train)
    q = np.ones(len(names)) / len(names)
    ys = [feats[n]["y"] for n in names]
    base = cell_weights(ys)
    sizes = np.cumsum([0] + [len(y) for y in ys])
    for _ in range(rounds):
        w = base.copy()
        for i in range(len(names)):
            w[sizes[i] : sizes[i + 1]] *= q[i] * len(names)
        clf = fit_lr([feats[n]["x"] for n in names], ys, c, w)
        losses = []
        for n in names:
            p = np.clip(clf.predict_proba(feats[n]["x"])[:, 1], 1e-6, 1 - 1e-6)
            y = feats[n]["y"]
            losses.append(float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))))
        q = q * np.exp(eta * np.array(losses))
        q /= q.sum()
    return clf, {"weights": dict(zip(names, np.round(q, 3).tolist(), strict=True))}


HEADS = {
    "pooled": head_pooled,
    "inner-LODO C": head_inner_lodo,
    "consistent": head_consistent,
    "group DRO": head_group_dro,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--features", default="early", choices=("early", "multiscale"))
    ap.add_argument("--max-per-class", type=int, default=250)
    args = ap.parse_args()
    feats = load_features(args.data_root, args.features, args.max_per_class)
    results = {}
    for head, fit in HEADS.items():
        results[head] = {}
        for left in POOL:
            train = [n for n in feats if n != left]
            clf, info = fit(train, feats)
            x = feats[left]["x"] if info is None or "keep" not in info else feats[left]["x"][:, info["keep"]]
            results[head][left] = round(auc(feats[left]["y"], clf.predict_proba(x)[:, 1]), 3)
        v = list(results[head].values())
        results[head].update(mean=round(float(np.mean(v)), 3), worst=round(float(np.min(v)), 3))
        print(f"{args.features} {head}: {results[head]}", flush=True)
    (ROOT / "runs" / f"probe-heads-{args.features}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
