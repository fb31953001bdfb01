"""Rebuild the shipped default detector from the training pool, timed, and install it in the package.

    python benchmarks/build_default.py [--data ../shared/data] [--views 4]

Trains `detector-lite0-early` on art500 + cifake2k (70/10/20 splits of each; playground100 and
every other held-out set are never read), copies the checkpoint to
src/realorai/weights/detector-default.safetensors and writes docs/default_training.json
(the command, the time it took, validation and held-in test figures).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from realorai.atomic import write_json
from realorai.detector.api import DEFAULT_WEIGHTS
from realorai.detector.fit import DEFAULT_DETECTOR, DetectorConfig, fit_detector

ROOT = Path(__file__).resolve().parents[1]
TRAINING_POOL = ("art500", "cifake2k")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--views", type=int, default=4)
    ap.add_argument("--run", default=str(ROOT / "runs" / "default"))
    args = ap.parse_args()
    data = tuple(str(Path(args.data) / name) for name in TRAINING_POOL)
    cfg = DetectorConfig(model=DEFAULT_DETECTOR, data=data, views=args.views)
    t0 = time.perf_counter()
    summary = fit_detector(cfg, args.run)
    seconds = time.perf_counter() - t0
    target = ROOT / "src" / "realorai" / "weights" / DEFAULT_WEIGHTS
    shutil.copyfile(Path(args.run) / "best.safetensors", target)
    write_json(
        ROOT / "docs" / "default_training.json",
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
