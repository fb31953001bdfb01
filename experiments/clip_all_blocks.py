"""CLIP ViT-B/16 features of blocks 0-10 on native crops, cached for the block experiments.

One pass of the tower per crop gives every block's residual stream (class token + mean of the
patch tokens, 1,536 values a block, 16,896 an image). Block 11's output is the graph's own
last hidden state under an unnamed tensor (and the final embedding did worse than the middle
blocks in the screening): it is left out. From that cache:

- the `clip-b16` caches benchmarks/clip_pool.py and benchmarks/kshot.py read (block 6's columns;
  the same numbers the registry's `clip-b16` extractor computes on its cut graph), and
- experiments/clip_block_weighting.py (RINE's learned weighting over blocks, the
  consistent-direction rule).

    python experiments/clip_all_blocks.py [--reprocess]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from clip_pool import REALS, _reals  # noqa: E402
from kshot_features import SETS, _cached, frame, reprocessed  # noqa: E402

WIDTH = 1536  # class token + mean patch token, 768 each


def all_blocks(paths: list[str], reprocess: bool) -> dict:
    from realorai.detector.score import image_features
    from realorai.features.clip import ClipBlocks

    tower = ClipBlocks("clip-b16-all", tuple(range(11)))
    x, _, _ = image_features(tower, paths, 0, None, 0, True, reprocessed if reprocess else None)
    return {"x": x.astype(np.float32)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--cache", type=Path, default=ROOT / "runs" / "kshot")
    ap.add_argument("--reprocess", action="store_true", help="both classes re-processed alike first")
    args = ap.parse_args()
    suffix = "-re" if args.reprocess else ""
    for name in (*SETS, REALS):
        if args.reprocess and name == REALS:
            continue  # the reals-only set has no LODO column
        df = _reals(args.data, args.cache) if name == REALS else frame(args.data, name, args.cache)
        print(f"{name}: {len(df)} images", flush=True)
        paths = df["path"].tolist()
        x = _cached(args.cache / f"clip-b16-all-{name}{suffix}.npz", lambda p=paths: all_blocks(p, args.reprocess))["x"]
        block6 = args.cache / f"clip-b16-{name}{suffix}.npz"
        if not block6.is_file():
            np.savez(block6, x=x[:, 6 * WIDTH : 7 * WIDTH].astype(np.float64))


if __name__ == "__main__":
    main()
