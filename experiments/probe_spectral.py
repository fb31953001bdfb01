"""Probe: do spectral statistics of the high-pass residual carry across datasets?

A quick screen before a design joins the registry (it is not the LODO protocol of
docs/DETECTOR.md: no augmentation, no calibration, one logistic regression per fold): each
image's native-resolution crops (the shipped crop plan) give the log power spectrum of their
high-pass residual, radially averaged, and its row and column marginals (where up-sampling
layers leave periodic peaks); the frozen early statistics of the shipped design are computed on
the same crops for comparison. Leave one dataset out: fit on the other four two-class sets plus
srbench142's reals, ROC-AUC on the one left out. playground100 is never read.

    python experiments/probe_spectral.py [--max-per-class 250]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
POOL = ("art500", "cifake2k", "game450", "museum111", "stylegan200")


def residual_spectrum(crops: np.ndarray, bins: int = 24) -> np.ndarray:
    """uint8 crops (N, 3, S, S) -> (N, 2 * bins + bins) log-power features of the Laplacian residual."""
    g = crops.astype(np.float32).mean(1)  # grey
    r = 4 * g[:, 1:-1, 1:-1] - g[:, :-2, 1:-1] - g[:, 2:, 1:-1] - g[:, 1:-1, :-2] - g[:, 1:-1, 2:]
    r = r - r.mean((1, 2), keepdims=True)
    n = r.shape[-1]
    power = np.abs(np.fft.rfft2(r)) ** 2  # (N, n, n//2+1)
    fy = np.abs(np.fft.fftfreq(n))[:, None]
    fx = np.fft.rfftfreq(n)[None, :]
    radius = np.sqrt(fx**2 + fy**2) / 0.5  # 0 .. ~1.41
    edges = np.linspace(0.02, 1.0, bins + 1)
    which = np.digitize(radius, edges) - 1
    radial = np.stack([power[:, (which == b)].mean(1) for b in range(bins)], 1)
    rows = power.mean(1)  # marginal over fy: periodic column structure, by fx
    cols = np.abs(np.fft.rfft(r, axis=1)) ** 2
    cols = cols.mean(2)  # marginal over fx, by fy

    def pooled(m: np.ndarray) -> np.ndarray:
        m = m[:, 1:]
        return np.stack([c.mean(1) for c in np.array_split(m, bins, axis=1)], 1)

    feats = np.concatenate([radial, pooled(rows), pooled(cols)], 1)
    logp = np.log(feats + 1e-6)
    return logp - logp[:, :1]  # relative to the lowest band: invariant to overall residual energy


def dataset_items(data: Path, name: str, cap: int) -> list[tuple[str, int]]:
    out = []
    for label, y in (("real", 0), ("ai", 1)):
        folder = data / name / label
        if folder.is_dir():
            files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp"))
            out += [(str(p), y) for p in files[:cap]]
    return out


def image_crops_of(paths: list[str], plan):
    """Each image's crops of the crop plan, in order (a black crop for an unreadable file), with
    a progress line now and then."""
    from realorai.detector.crops import image_crops
    from realorai.imaging import ImageLoadError, decoded

    for i, p in enumerate(paths):
        try:
            with decoded(p) as img:
                crops, _, _ = image_crops(img, plan)
        except ImageLoadError:
            crops = np.zeros((1, 3, plan.size, plan.size), np.uint8)
        if i % 200 == 0:
            print(f"  {i}/{len(paths)}", file=sys.stderr, flush=True)
        yield crops


def early_features(model, crops: np.ndarray) -> np.ndarray:
    """The frozen design's features of one image: its crops' features, averaged."""
    import torch

    from realorai.models import normalize

    with torch.no_grad():
        return model.features(normalize(torch.from_numpy(crops), model.data_config)).mean(0).numpy()


def features(paths: list[str], early_model) -> tuple[np.ndarray, np.ndarray]:
    from realorai.detector.crops import plan_of

    spec, early = [], []
    for crops in image_crops_of(paths, plan_of(early_model)):
        spec.append(residual_spectrum(crops).mean(0))
        early.append(early_features(early_model, crops))
    return np.stack(spec), np.stack(early)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--max-per-class", type=int, default=250)
    args = ap.parse_args()
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from realorai.models import create_model

    model = create_model("detector-lite0-early", pretrained=True).eval()  # ImageNet weights, as trained
    sets = {name: dataset_items(args.data_root, name, args.max_per_class) for name in (*POOL, "srbench142")}
    feats = {}
    for name, items in sets.items():
        print(f"{name}: {len(items)} images", file=sys.stderr, flush=True)
        s, e = features([p for p, _ in items], model)
        feats[name] = {
            "spectral": s,
            "early": e,
            "both": np.concatenate([s, e], 1),
            "y": np.array([y for _, y in items]),
        }
    results = {}
    for design in ("spectral", "early", "both"):
        results[design] = {}
        for left in POOL:
            train = [n for n in feats if n != left]
            x = np.concatenate([feats[n][design] for n in train])
            y = np.concatenate([feats[n]["y"] for n in train])
            # (dataset, class) cells weighted equally, as in training
            cell = np.concatenate([feats[n]["y"] * 0 + i * 2 + feats[n]["y"] for i, n in enumerate(train)])
            counts = np.bincount(cell)
            w = 1.0 / counts[cell]
            clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
            clf.fit(x, y, logisticregression__sample_weight=w * len(w) / w.sum())
            auc = roc_auc_score(feats[left]["y"], clf.predict_proba(feats[left][design])[:, 1])
            results[design][left] = round(float(auc), 3)
        v = list(results[design].values())
        results[design]["mean"], results[design]["worst"] = round(float(np.mean(v)), 3), round(float(min(v)), 3)
        print(design, results[design], flush=True)
    out = ROOT / "runs" / "probe-spectral.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
