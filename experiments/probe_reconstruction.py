"""Probe: does an autoencoder's reconstruction error tell generated images from real ones, with no
training at all (AEROBLADE, Ricker et al. CVPR 2024)?

A latent-diffusion generator shows its images through its autoencoder's decoder, so they lie
close to what that decoder can produce: encoded and decoded again they change less than a real
photo does. How much an image changes also depends on its content (texture, noise, JPEG), so the
probe also reads the change of a second pass, ``x -> r1 -> r2``: an image already on the
decoder's manifold changes by about as much in each pass, a real one by more in the first
(the ratio ``d(x, r1) / d(r1, r2)``).

Every image of the pool is centre-cropped at its own resolution (at most 256 px a side, as
``realorai data reconstruct`` does) and passed twice through taef2 (FLUX.2's tiny autoencoder,
the only one here). Each score's direction is fixed before reading any figure (less change =
AI), so every set is a set the "detector" never saw; the per-set ROC-AUC is the cross-dataset
figure. A screen, not the protocol of docs/DETECTOR.md; playground100 is never read.

    python experiments/probe_reconstruction.py [--weights ../shared/models/taef2] [--cap 100]

Per-image figures are cached in runs/probe-reconstruction.parquet (a rerun continues);
results in runs/probe-reconstruction.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from probe_heads import auc  # noqa: E402

POOL = ("art500", "cifake2k", "game450", "museum111", "stylegan200", "srbench142")


def _grey(a: np.ndarray) -> np.ndarray:
    return a.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def _highpass(g: np.ndarray) -> np.ndarray:
    """4-neighbour Laplacian: the fine detail where decoder traces live."""
    return 4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]


def distances(a: np.ndarray, b: np.ndarray) -> dict:
    ga, gb = _grey(a), _grey(b)
    return {
        "l1": float(np.abs(a.astype(np.float32) - b).mean()),
        "l2": float(np.sqrt(((a.astype(np.float32) - b) ** 2).mean())),
        "hp": float(np.abs(_highpass(ga) - _highpass(gb)).mean()),
    }


def measure(path: str, net, max_side: int) -> dict:
    from realorai.detector.pairs import MIN_SIDE, centre_crop
    from realorai.imaging import load_image

    x = np.asarray(centre_crop(load_image(path), max_side), dtype=np.uint8)
    if min(x.shape[:2]) < MIN_SIDE:
        raise ValueError(f"smaller than {MIN_SIDE} px")
    r1 = net.reconstruct(x)
    r2 = net.reconstruct(r1)
    first, second = distances(x, r1), distances(r1, r2)
    row = {f"d1_{k}": v for k, v in first.items()} | {f"d2_{k}": v for k, v in second.items()}
    row |= {f"ratio_{k}": first[k] / max(second[k], 1e-6) for k in first}
    row["detail"] = float(np.abs(_highpass(_grey(x))).mean())  # how much fine detail the crop has
    return row


def collect(data: Path, weights: Path, cap: int, max_side: int) -> pd.DataFrame:
    from realorai.detector.autoencoder import TAEF2
    from realorai.evaluation.benchmark import labelled_files
    from realorai.imaging import ImageLoadError
    from realorai.progress import progress_bar

    cache = ROOT / "runs" / "probe-reconstruction.parquet"
    done = pd.read_parquet(cache) if cache.exists() else pd.DataFrame(columns=["path"])
    seen = set(done["path"])
    net = TAEF2.load(weights)
    todo, wanted = [], set()
    for name in POOL:
        df = labelled_files(data / name, both_classes=False)
        # At most `cap` a class, the same images every run.
        df = pd.concat([g.sample(min(cap, len(g)), random_state=0) for _, g in df.groupby("y")])
        wanted |= set(df["path"])
        todo += [(p, name, int(y)) for p, y in zip(df["path"], df["y"], strict=True) if p not in seen]
    rows = done.to_dict("records")
    t0, last_save = time.perf_counter(), time.perf_counter()
    with progress_bar("reconstruct twice", len(todo), True) as advance:
        for path, name, y in todo:
            try:
                rows.append({"path": path, "dataset": name, "y": y, **measure(path, net, max_side)})
            except (ImageLoadError, ValueError, OSError) as e:
                rows.append({"path": path, "dataset": name, "y": y, "error": str(e)})
            advance()
            if time.perf_counter() - last_save > 60:
                _save(rows, cache)
                last_save = time.perf_counter()
    _save(rows, cache)
    print(f"{len(todo)} images in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return pd.DataFrame([r for r in rows if r["path"] in wanted])  # this run's sample, not every cached row


def _save(rows: list[dict], cache: Path) -> None:
    from realorai.atomic import write_with

    cache.parent.mkdir(exist_ok=True)
    write_with(cache, lambda p: pd.DataFrame(rows).to_parquet(p, index=False))


def report(df: pd.DataFrame) -> dict:
    """ROC-AUC per two-class set of each score, with its direction fixed: less change = AI."""
    ok = df[df["error"].isna()] if "error" in df else df
    scores = [c for c in ok.columns if c.startswith(("d1_", "d2_", "ratio_"))] + ["detail"]
    out = {"images": {n: int((ok["dataset"] == n).sum()) for n in POOL}, "auc": {}}
    for s in scores:
        out["auc"][s] = {n: auc(part["y"], -part[s]) for n, part in ok.groupby("dataset") if part["y"].nunique() == 2}
    reals = ok[ok["y"] == 0]
    out["real_median"] = {s: {n: float(p[s].median()) for n, p in reals.groupby("dataset")} for s in scores}
    return out


def main() -> None:
    from realorai.atomic import write_json

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--weights", type=Path, default=ROOT.parent / "shared" / "models" / "taef2")
    ap.add_argument("--cap", type=int, default=100, help="images per class and set")
    ap.add_argument("--max-side", type=int, default=256)
    args = ap.parse_args()
    result = report(collect(args.data, args.weights, args.cap, args.max_side))
    result["command"] = "python experiments/probe_reconstruction.py " + " ".join(sys.argv[1:])
    write_json(ROOT / "runs" / "probe-reconstruction.json", result)
    sets = sorted({n for v in result["auc"].values() for n in v})
    print("| score (less change = AI) | " + " | ".join(sets) + " | mean |")
    for s, per in result["auc"].items():
        vals = [per.get(n, float("nan")) for n in sets]
        print(f"| {s} | " + " | ".join(f"{v:.3f}" for v in vals) + f" | {np.nanmean(vals):.3f} |")


if __name__ == "__main__":
    main()
