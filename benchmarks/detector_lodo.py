"""Experiment: leave-one-dataset-out ROC-AUC of a detector design over the two-class training
sets, with the real-only sets as extra reals in every fold (and aligned pairs, optionally).

    python benchmarks/detector_lodo.py --model detector-patch-npr [--epochs 6] [--pairs DIR...] [--pairs-only]

Each fold trains on the other sets (85/15 train/validation splits) and scores every image of
the set left out; reconstructions of the left-out set's real images are never trained on.
Writes runs/lodo-MODEL/lodo.json and prints a table row for docs/DETECTOR.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TWO_CLASS = ("art500", "cifake2k", "game450", "museum111", "stylegan200")
REAL_ONLY = ("srbench142",)


def pairs_without(pairs: list[Path], left_out: str, out: Path) -> Path:
    """One manifest of the aligned pairs (of every folder) minus those made from the left-out set's images."""
    import pandas as pd

    from realorai.data.manifest import save_manifest
    from realorai.detector.pairs import pairs_excluding

    df = pd.concat([pairs_excluding(p, left_out) for p in pairs], ignore_index=True)
    return save_manifest(df, out / "pairs-manifest.parquet")


def main() -> None:
    from realorai.detector.augment import AugmentConfig
    from realorai.detector.fit import DetectorConfig, fit_detector
    from realorai.evaluation.benchmark import labelled_files
    from realorai.inference.detector import Detector
    from realorai.metrics import roc_auc_or_nan

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="detector-patch-npr")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--data-root", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--pairs", type=Path, nargs="+", default=None, help="folders of `realorai data reconstruct`")
    ap.add_argument("--pairs-only", action="store_true", help="train on the pairs alone (no set's own AI images)")
    ap.add_argument("--only", nargs="*", default=None, help="left-out sets to run (default: all five)")
    ap.add_argument(
        "--consistent-margin", type=float, default=None, help="frozen designs: direction-consistent features only"
    )
    ap.add_argument(
        "--light-chain", action="store_true", help="end-to-end designs: crop and flip only (no JPEG, blur, rescale)"
    )
    ap.add_argument("--tag", default="", help="suffix of the run folder (to keep runs with other options apart)")
    args = ap.parse_args()
    if args.pairs_only and not args.pairs:
        ap.error("--pairs-only needs --pairs")
    n_pairs = "" if not args.pairs or len(args.pairs) == 1 else str(len(args.pairs))
    tag = (
        (f"-pairs{n_pairs}" if args.pairs else "")
        + ("-only" if args.pairs_only else "")
        + (f"-consistent{args.consistent_margin:g}" if args.consistent_margin is not None else "")
    )
    out = ROOT / "runs" / f"lodo-{args.model}{tag}{args.tag}"
    result = {"command": "python benchmarks/detector_lodo.py " + " ".join(sys.argv[1:]), "folds": {}}
    for left in args.only or TWO_CLASS:
        t0 = time.perf_counter()
        run = out / left
        run.mkdir(parents=True, exist_ok=True)
        sets = () if args.pairs_only else (*TWO_CLASS, *REAL_ONLY)
        data = tuple(str(args.data_root / d) for d in sets if d != left)
        manifests = (str(pairs_without(args.pairs, left, run)),) if args.pairs else ()
        cfg = DetectorConfig(
            model=args.model,
            data=data,
            manifests=manifests,
            ratios="85/15/0",
            epochs=args.epochs,
            lr=args.lr,
            consistent_margin=args.consistent_margin,
            e2e_augment=AugmentConfig(p_downscale=0.0, p_blur=0.0, p_jpeg=0.0) if args.light_chain else None,
        )
        fit_detector(cfg, run, show_progress=False)
        det = Detector.load(run)
        df = labelled_files(args.data_root / left)
        p = det.score(df["path"].tolist()).p_ai
        y = df["y"].to_numpy()
        fpr = float(np.mean(p[(y == 0) & np.isfinite(p)] >= det.threshold))
        tpr = float(np.mean(p[(y == 1) & np.isfinite(p)] >= det.threshold))
        result["folds"][left] = {"roc_auc": roc_auc_or_nan(y, p), "fpr": fpr, "tpr": tpr,
                                 "seconds": round(time.perf_counter() - t0, 1)}  # fmt: skip
        print(left, result["folds"][left], flush=True)
        (out / "lodo.json").write_text(json.dumps(result, indent=1))
    aucs = [f["roc_auc"] for f in result["folds"].values()]
    print(
        f"{args.model}: LODO mean {np.mean(aucs):.3f}, worst {np.min(aucs):.3f}; "
        + ", ".join(f"{k} {v['roc_auc']:.3f}" for k, v in result["folds"].items())
    )


if __name__ == "__main__":
    main()
