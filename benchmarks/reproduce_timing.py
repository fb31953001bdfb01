"""Benchmark: wall time of the whole reproduction on a 1,000-image dataset (target: < 15 min on 2 cores).

    python benchmarks/reproduce_timing.py --source ../shared/data/playground100 --images 1000 [--precision bf16]

The shared data holds no 1,000-image set yet, so this builds one from SOURCE: each image yields
several variants (a random crop of 55-95% of each side, a random flip, saved as JPEG quality 75-95;
AI images are scaled back to their original size, as the source's generators produced them). The
variants are only for timing: crops of one image are often near duplicates, which the split keeps
together. The figures go to the ``timing-IMAGES-PRECISION`` section of docs/RESULTS.md.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from reproduce_report import machine, replace_section  # noqa: E402

from realorai.data.manifest import scan, usable  # noqa: E402
from realorai.evaluation.reproduce import reproduce  # noqa: E402
from realorai.imaging import load_image  # noqa: E402


def build(source: Path, out: Path, images: int, seed: int = 0) -> Path:
    rows = usable(scan(source, show_progress=False))
    per_image = -(-images // len(rows))
    rng = np.random.default_rng(seed)
    if out.exists():
        shutil.rmtree(out)
    made = 0
    for row in rows.itertuples():
        img = load_image(row.path)
        (out / row.label).mkdir(parents=True, exist_ok=True)
        for k in range(per_image):
            if made >= images:
                return out
            w, h = img.size
            cw, ch = int(w * rng.uniform(0.55, 0.95)), int(h * rng.uniform(0.55, 0.95))
            x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            variant = img.crop((x, y, x + cw, y + ch))
            if rng.random() < 0.5:
                variant = variant.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            if row.label == "ai":
                variant = variant.resize((w, h), Image.Resampling.BICUBIC)
            variant.save(out / row.label / f"{Path(row.path).stem}_v{k}.jpg", quality=int(rng.integers(75, 96)))
            made += 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "data" / "playground100")
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    ap.add_argument("--doc", type=Path, default=ROOT / "docs" / "RESULTS.md")
    args = ap.parse_args()
    command = "python benchmarks/reproduce_timing.py " + shlex.join(sys.argv[1:])
    work = ROOT / "runs" / f"timing-{args.images}"
    data = build(args.source, work / "data", args.images)
    t0 = time.perf_counter()
    result = reproduce(data, work / f"out-{args.precision}", precision=args.precision)
    wall = time.perf_counter() - t0
    n = len(usable(scan(data, show_progress=False)))
    verdict = "meets" if wall < 15 * 60 else "misses"
    lines = [
        f"### Timing: whole reproduction on {n} images ({args.precision})",
        "",
        f"- Command: `{command}`",
        f"- Machine: {machine()}",
        f"- Data: {n} usable images made from `{args.source.name}` as the script's docstring says",
        f"- Wall time: **{wall:.0f} s ({wall / 60:.1f} min)**: {verdict} the 15-minute target",
        "",
        "| stage | seconds |",
        "|---|---|",
        *[f"| {stage} | {secs:.1f} |" for stage, secs in result["timings_s"].items()],
    ]
    replace_section(args.doc, f"timing-{args.images}-{args.precision}", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
