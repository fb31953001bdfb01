"""Benchmark: which packaged detector is the default (issue 35, item 6), by the issue's two figures.

    python benchmarks/default_choice.py [--data ../shared/data]

For the default detector-clip-b16 and the fallback detector-lite0-early, both built by
``benchmarks/build_default.py`` on the same pool by the same path: (1) the out-of-source ROC-AUC
of each training set, scored by the design fitted without it, as each checkpoint records it from
its own build (a claim of the build, reproduced by running build_default.py again); (2) ROC-AUC on
the held-out playground100, measured here, as is and with both classes re-processed alike
(centre square, 512 px bicubic, JPEG q90: size, aspect and file history then say nothing of the
class), each with a 95% bootstrap interval. Writes the RESULTS.md section "default-choice".
Nothing is tuned on playground100: both detectors were fixed before this runs.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from kshot_features import reprocessed  # noqa: E402
from reproduce_report import machine, replace_section  # noqa: E402

DETECTORS = {"detector-clip-b16 (default)": "detector-clip-b16.safetensors",
             "detector-lite0-early (fallback)": "detector-default.safetensors"}  # fmt: skip
FOLDS = ("art500", "cifake2k", "game450", "museum111", "stylegan200")


def auc_with_interval(y: np.ndarray, p: np.ndarray) -> str:
    """ROC-AUC and its 95% interval, as `realorai benchmark` computes them (metrics.roc_auc_interval)."""
    from realorai.metrics import roc_auc_interval
    from realorai.tiers import roc_auc

    lo, hi = roc_auc_interval(y, p)
    return f"{roc_auc(p, y):.3f} [{lo:.2f}, {hi:.2f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--doc", type=Path, default=ROOT / "docs" / "RESULTS.md")
    args = ap.parse_args()
    from realorai.inference.default import packaged
    from realorai.inference.detector import Detector

    held = args.data / "playground100"
    files = sorted(
        p for c in ("ai", "real") for p in (held / c).iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")
    )
    y = np.array([p.parent.name == "ai" for p in files], dtype=int)
    table = ["| detector | " + " | ".join(FOLDS) + " | mean | playground100 as is | re-processed alike |",
             "|---|" + "---|" * (len(FOLDS) + 3)]  # fmt: skip
    for label, file in DETECTORS.items():
        det = Detector.load(packaged(file))
        per = det.meta["reliability"]["per_dataset"]
        folds = [per[f]["roc_auc"] for f in FOLDS]
        cells = [f"{a:.3f}" for a in folds] + [f"**{np.mean(folds):.3f}**"]
        for transform in (None, reprocessed):
            p = det.score([str(f) for f in files], transform=transform, show_progress=False).p_ai
            cells.append(auc_with_interval(y, p))
        table.append(f"| {label} | " + " | ".join(cells) + " |")
    text = "\n".join([
        "## Which detector is the default (`benchmarks/default_choice.py`)\n",
        f"- Command: `{shlex.join(['python', 'benchmarks/default_choice.py', *sys.argv[1:]])}`",
        f"- Machine: {machine()}",
        "- Out-of-source ROC-AUC of each training set (scored by the design fitted without it), as each packaged "
        "checkpoint records it from its build (`benchmarks/build_default.py`, docs/default_training.json and "
        f"default_clip_training.json); playground100 ({int(y.sum())} AI, {int(len(y) - y.sum())} real; never trained, "
        "tuned or calibrated on) measured here, with a 95% bootstrap interval; re-processed alike: centre square, "
        "512 px bicubic, JPEG q90, both classes",
        "", *table,
    ])  # fmt: skip
    replace_section(args.doc, "default-choice", text)
    print(text)


if __name__ == "__main__":
    main()
