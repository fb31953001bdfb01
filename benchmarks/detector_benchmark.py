"""The shipped detector measured: per dataset (with the robustness sweep) and leave-one-dataset-out
over the training pool; writes the figures with the commands into docs/RESULTS.md.

    python benchmarks/detector_benchmark.py [--data ../shared/data]

1. `realorai benchmark art500 cifake2k playground100` with the shipped model: on art500 and
   cifake2k only the files the model never saw (their test splits) count; playground100 is held out.
2. `realorai benchmark art500 cifake2k --lodo`: a detector of the same design trained on one
   dataset of the training pool and tested on the other, both ways (playground100 is never trained on).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from reproduce_report import machine, replace_section  # noqa: E402

from realorai.evaluation.benchmark import benchmark  # noqa: E402
from realorai.evaluation.benchmark_tables import tables  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "benchmark")
    ap.add_argument("--doc", type=Path, default=ROOT / "docs" / "RESULTS.md")
    args = ap.parse_args()
    pool = [str(args.data / "art500"), str(args.data / "cifake2k")]
    held_out = [str(args.data / "playground100")]
    command = "python benchmarks/detector_benchmark.py " + shlex.join(sys.argv[1:])
    t0 = time.perf_counter()
    shipped = benchmark(pool + held_out, args.out / "shipped", command=command)
    t1 = time.perf_counter()
    lodo = benchmark(pool, args.out / "lodo", robustness=False, lodo=True, command=command)
    t2 = time.perf_counter()
    lines = [
        "### The shipped detector",
        "",
        f"- Command: `{command}` (equivalently `realorai benchmark {' '.join(Path(d).name for d in pool + held_out)}` "
        "and `realorai benchmark art500 cifake2k --lodo` on the folders under ../shared/data)",
        f"- Machine: {machine()}; {t1 - t0:.0f} s for the shipped model's figures, {t2 - t1:.0f} s for LODO.",
        f"- Model: `{shipped['model']}` ({shipped['source']}), threshold {shipped['threshold']:.3f} from its "
        "validation split. art500 and cifake2k rows count only their test-split files (the model was fitted "
        "and calibrated on the rest; 'left out (seen)' counts those); playground100 is held out, never trained "
        "or tuned on. Robustness: a seeded class-balanced sample of at most 400 images per dataset, changed "
        "in memory.",
        "",
    ]
    for title, table in tables(shipped):
        lines += [f"#### {title}", "", table, ""]
    for title, table in tables(lodo):
        if title.startswith("Leave one dataset out"):
            lines += [f"#### {title}", "", table, ""]
    replace_section(args.doc, "detector", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
