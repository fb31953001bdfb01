"""Benchmark: reproduce the student report on a dataset and record the figures in docs/RESULTS.md.

    python benchmarks/reproduce_report.py --data ../shared/data/playground100

Writes the reproduction to runs/bench-<name>/ and replaces the section between the
``<!-- section:NAME -->`` markers of docs/RESULTS.md with the command, the machine, wall time
per stage and each model's test metrics.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from realorai.atomic import write_text  # noqa: E402
from realorai.data.manifest import load_manifest  # noqa: E402
from realorai.data.split import split_counts  # noqa: E402
from realorai.evaluation.reproduce import reproduce  # noqa: E402


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return f"{os.cpu_count()} CPU cores ({cpu}), {mem:.0f} GiB RAM, GPU: {gpu}, torch {torch.__version__}"


def replace_section(doc: Path, name: str, body: str) -> None:
    start, end = f"<!-- section:{name} -->", f"<!-- /section:{name} -->"
    text = doc.read_text() if doc.exists() else "# Results\n"
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text:
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    write_text(doc, text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--name", default=None, help="section name (default: the data folder's name)")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--doc", type=Path, default=ROOT / "docs" / "RESULTS.md")
    args = ap.parse_args()
    name = args.name or args.data.resolve().name
    out = args.out or ROOT / "runs" / f"bench-{name}"
    command = "python benchmarks/reproduce_report.py " + shlex.join(sys.argv[1:])

    t0 = time.perf_counter()
    result = reproduce(args.data, out, seed=args.seed, precision=args.precision)
    wall = time.perf_counter() - t0
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout

    audit = json.loads((out / "audit.json").read_text())
    lines = [
        f"### Reproduction on `{name}`",
        "",
        f"- Command: `{command}` (commit `{commit.strip() or 'uncommitted'}`, seed {args.seed}, "
        f"precision {args.precision})",
        f"- Machine: {machine()}",
        f"- Wall time, whole reproduction: **{wall:.0f} s** ({wall / 60:.1f} min)",
        f"- Usable images per split: {split_counts(load_manifest(out / 'manifest.parquet'))}",
    ]
    if audit["warnings"]:
        lines += ["", "Shortcut audit: " + " ".join(audit["warnings"])]
    for model, note in result["notes"].items():
        lines += ["", f"Note on {model}: {note}."]
    lines += ["", "| stage | seconds |", "|---|---|"]
    lines += [f"| {stage} | {secs:.1f} |" for stage, secs in result["timings_s"].items()]
    lines += ["", "Test-split metrics (thresholds chosen on the validation split):", ""]
    md = (out / "report.md").read_text().split("\n")
    table = [line for line in md if line.startswith("|")]
    lines += table
    lines += ["", f"Full report: `{out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}/report.html`."]
    replace_section(args.doc, name, "\n".join(lines))
    print(f"updated {args.doc} section {name!r} in {wall:.0f} s")


if __name__ == "__main__":
    main()
