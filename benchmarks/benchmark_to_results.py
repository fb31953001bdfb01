"""Copy a finished `realorai benchmark` run's tables into docs/RESULTS.md, with its command.

    python benchmarks/benchmark_to_results.py runs/my-benchmark --section my_benchmark \
        --title "My datasets" [--only "Leave one"]

The figures are those of the run's benchmark.json (written by the command it records); this
script only formats them (`--only "Leave one"` keeps the tables whose title starts so), so
RESULTS.md never holds a figure that no command produced.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from reproduce_report import machine, replace_section  # noqa: E402

from realorai.evaluation.benchmark_tables import tables  # noqa: E402


def section(title: str, result: dict, command: str, model: str, only: tuple[str, ...] = ()) -> str:
    """A RESULTS.md section of a benchmark run: its command and model lines, then its tables (those
    whose title starts with one of ``only``, or all)."""
    lines = [f"### {title}", "", f"- Command: {command}", f"- Machine: {machine()}", f"- Model: {model}", ""]
    for name, table in tables(result):
        if not only or name.startswith(only):
            lines += [f"#### {name}", "", table, ""]
    return "\n".join(lines).rstrip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path, help="the benchmark's output folder (holds benchmark.json)")
    ap.add_argument("--section", required=True)
    ap.add_argument("--title", required=True)
    ap.add_argument("--doc", type=Path, default=ROOT / "docs" / "RESULTS.md")
    ap.add_argument("--only", action="append", default=[], help="Keep only tables whose title starts so.")
    args = ap.parse_args()
    result = json.loads((args.run / "benchmark.json").read_text())
    command = f"`{result['command']}` (run {result['when']}, {result['seconds'] / 60:.0f} min)"
    model = (
        f"`{result['model']}` on {result['backend']}, threshold {result['threshold']:.3f}; files it was "
        "trained or calibrated on are left out of its rows ('left out (seen)')"
    )
    text = section(args.title, result, command, model, tuple(args.only))
    replace_section(args.doc, args.section, text)
    print(text)


if __name__ == "__main__":
    main()
