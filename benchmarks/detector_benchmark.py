"""The shipped detector measured on the training pool and the held-out playground100, and its
design measured leave-one-dataset-out (LODO) and leave-one-generator-out (LOGO) over the pool;
writes the figures with their commands into docs/RESULTS.md.

    python benchmarks/detector_benchmark.py [--data ../shared/data] [--lodo]

1. `realorai benchmark <the six pool sets> playground100`: the shipped model on every image it
   was neither fitted nor calibrated on (the pool's test splits, srbench142's test split as real
   images) and on the held-out playground100, with the robustness sweep (section "detector").
2. With `--lodo`, also `realorai benchmark <the six pool sets> --lodo --logo`: the same design
   retrained for each fold (section "detector_lodo"; about 75 min on 2 CPU cores). These figures
   measure the design, not the shipped weights, so a rebuilt model does not need them rerun.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from benchmark_to_results import section  # noqa: E402
from build_default import TRAINING_POOL  # noqa: E402
from reproduce_report import replace_section  # noqa: E402

from realorai.evaluation.benchmark import benchmark  # noqa: E402

HELD_OUT = ("playground100",)
SHIPPED = (
    "({source}, {backend}), threshold {threshold:.3f} from its validation split. Pool rows count only the "
    "files the model was neither fitted nor calibrated on ('left out (seen)' counts the others); playground100 "
    "is held out, never trained or tuned on. Robustness: a seeded class-balanced sample of at most 400 images "
    "per dataset, changed in memory."
)
DESIGN = (
    "(the design). Each fold trains this design afresh with the shipped recipe (build_default.py's, with "
    "85/15 train/validation splits) and scores the set or generator left out; the shipped weights are not "
    "used. playground100 is never read."
)
DESIGN_TABLES = ("Leave one dataset out", "Leave one generator out")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "benchmark")
    ap.add_argument("--doc", type=Path, default=ROOT / "docs" / "RESULTS.md")
    ap.add_argument("--lodo", action="store_true", help="Also LODO and LOGO over the pool (~40 min).")
    ap.add_argument("--tables-only", action="store_true", help="Rewrite the sections from the runs in --out.")
    args = ap.parse_args()
    pool = [str(args.data / name) for name in TRAINING_POOL]
    held_out = [str(args.data / name) for name in HELD_OUT]
    command = "python benchmarks/detector_benchmark.py " + shlex.join(sys.argv[1:])
    names = " ".join(Path(d).name for d in pool + held_out)
    run = saved if args.tables_only else benchmark
    shipped = run(pool + held_out, args.out / "shipped", command=command)
    same = f"realorai benchmark {names}"
    text = section("The shipped detector", shipped, _command(shipped, same), _model(shipped, SHIPPED.format(**shipped)))
    replace_section(args.doc, "detector", text)
    print(text)
    if args.lodo:
        design = run(pool, args.out / "lodo", robustness=False, lodo=True, logo=True, command=command)
        same = f"realorai benchmark {' '.join(Path(d).name for d in pool)} --lodo --logo"
        title = "The shipped design, leave one dataset / generator out"
        text = section(title, design, _command(design, same), _model(design, DESIGN), DESIGN_TABLES)
        replace_section(args.doc, "detector_lodo", text)
        print(text)


def saved(datasets: list[str], out: Path, **_) -> dict:
    """The finished run in ``out`` (--tables-only), in place of running it again."""
    return json.loads((out / "benchmark.json").read_text())


def _command(result: dict, same: str) -> str:
    return (
        f"`{result['command']}` (the same as `{same}` on the folders under ../shared/data; "
        f"{result['seconds'] / 60:.0f} min)"
    )


def _model(result: dict, about: str) -> str:
    return f"`{result['model']}` {about}"


if __name__ == "__main__":
    main()
