"""Issue 21's figures: how often pixel-only "likely" verdicts are wrong on sources the model never
saw, the signed Gemini images, rows whose verdict fields disagree, and a cold `predict` with
provenance on; written into docs/RESULTS.md (section "verdicts").

    python benchmarks/verdicts.py [--data ../shared/data] [--run runs/default] [--light-venv /tmp/light]

1. Out-of-source folds (in the run folder of `benchmarks/build_default.py`, out_of_source.csv):
   each pool set scored by the shipped design trained without it. The shipped tiers were chosen
   on these very scores, so their error there is by construction; the *nested* figure chooses
   Platt scaling and the bounds again without each set and applies them to it: what the rule
   gives a source it was not chosen on.
2. playground100 (held out; never trained or tuned on) scored by the shipped model, pixels only.
3. c2pa-gemini5 through plain `realorai predict --json` (provenance read by default).
4. Every row of 2 and 3 re-derived from its own findings and tier by the documented rule: rows
   whose verdict disagrees with it, and rows holding a second verdict field.
5. A cold `realorai predict one.jpg` (provenance on) in a light install, from cold_start.py.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from reproduce_report import machine, replace_section  # noqa: E402

from realorai.tiers import balanced_weights, choose_tiers, fit_platt, likely_counts, tier_of  # noqa: E402


def tiered_errors(p: np.ndarray, y: np.ndarray, tiers) -> dict:
    return likely_counts([tier_of(v, tiers) for v in p], y)


def nested(oos: pd.DataFrame) -> dict:
    """Per set: Platt and bounds chosen on the other sets' fold scores, applied to this set's."""
    out = {}
    for d in sorted(oos["dataset"].unique()):
        rest, mine = oos[oos["dataset"] != d], oos[oos["dataset"] == d]
        y, z, g = rest["y"].to_numpy(), rest["z"].to_numpy(), rest["dataset"].to_numpy()
        a, b = fit_platt(z, y, balanced_weights(y, g))
        if a <= 0:
            out[d] = {"n": len(mine), "likely": 0, "wrong": 0, "inconclusive": len(mine)}
            continue
        tiers = choose_tiers(1 / (1 + np.exp(-(a * z + b))), y, g)
        p = 1 / (1 + np.exp(-(a * mine["z"].to_numpy() + b)))
        out[d] = tiered_errors(p, mine["y"].to_numpy(), tiers)
    return out


def calibration(oos: pd.DataFrame, a: float, b: float, y_play: np.ndarray, p_play: np.ndarray) -> str:
    """ECE of the out-of-source folds (pooled, as they come) and of playground100, after the Platt map."""
    from realorai.metrics import expected_calibration_error as ece

    p_oos = 1 / (1 + np.exp(-(a * oos["z"].to_numpy() + b)))
    return (
        f"out-of-source folds {ece(oos['y'].to_numpy(), p_oos):.3f}; playground100 (held out) "
        f"**{ece(y_play, p_play):.3f}** (0.234 with the validation calibration, issue 14); P(AI) on playground100 "
        f"ranges {p_play.min():.2f}-{p_play.max():.2f}"
    )


def cli_rows(args: list[str]) -> list[dict]:
    proc = subprocess.run(["realorai", "predict", *args, "--json", "-q"], capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        sys.exit(f"realorai predict {' '.join(args)} failed ({proc.returncode}): {proc.stderr[-500:]}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def disagreeing(rows: list[dict]) -> tuple[int, int]:
    """(rows whose verdict is not what the rule gives from their own findings and tier, rows
    with a second verdict field)."""
    from realorai.provenance.findings import Finding, decide

    bad = second = 0
    for r in rows:
        if r["verdict"] == "error":
            continue
        d = decide([Finding(**f) for f in r["findings"] or []], r["tier"])
        bad += (d["verdict"], d["basis"]) != (r["verdict"], r["basis"])
        second += any(k for k in r if "verdict" in k and k != "verdict")
    return bad, second


def provenance_cost(folder: Path) -> str:
    """Seconds per image that reading provenance adds to a scan of ``folder`` (one warm-up each)."""
    import time

    took = {}
    for flags in ([], ["--pixels-only"], [], ["--pixels-only"]):
        t0 = time.perf_counter()
        subprocess.run(["realorai", "predict", str(folder), "-q", "--json", *flags], capture_output=True, check=False)
        took[bool(flags)] = time.perf_counter() - t0  # the second of each pair counts
    n = len(cli_rows([str(folder), "--pixels-only"]))
    per = (took[False] - took[True]) / n
    return (
        f"{took[False]:.1f} s with provenance, {took[True]:.1f} s pixels only for the {n} images of "
        f"`{folder.name}`: **{per * 1000:.0f} ms an image** for provenance"
    )


def cold_start(light_venv: str | None) -> str:
    if not light_venv:
        return "not measured this run (give --light-venv)"
    image = ROOT.parent / "shared" / "data" / "playground100" / "ai" / "diffusion1_1.jpg"
    realorai = str(Path(light_venv) / "bin" / "realorai")
    from cold_start import timed_runs

    runs = timed_runs(realorai, image, 5)
    med = statistics.median(r["wall"] for r in runs)
    return f"median **{med:.2f} s** wall (max {max(r['wall'] for r in runs):.2f} s) over 5 cold runs, light install"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--run", type=Path, default=ROOT / "runs" / "default", help="build_default.py's run folder")
    ap.add_argument("--light-venv", default=None, help="a light install (cold_start.py --light-venv makes one)")
    ap.add_argument("--doc", type=Path, default=ROOT / "docs" / "RESULTS.md")
    args = ap.parse_args()
    from realorai import Detector

    det = Detector.shipped()  # the run folder is detector-lite0-early's (build_default.py)
    oos = pd.read_csv(args.run / "out_of_source.csv")
    rel = det.meta["reliability"]
    a, b = rel["platt"]["a"], rel["platt"]["b"]
    fitted = {d: tiered_errors(1 / (1 + np.exp(-(a * p["z"].to_numpy() + b))), p["y"].to_numpy(), det.tiers)
              for d, p in oos.groupby("dataset")}  # fmt: skip
    nest = nested(oos)
    play = cli_rows([str(args.data / "playground100"), "--pixels-only"])
    y_play = np.array([int("/ai/" in r["path"]) for r in play])
    p_play = np.array([r["p_ai"] for r in play], dtype=float)
    held = tiered_errors(p_play, y_play, det.tiers)
    gemini = cli_rows([str(args.data / "c2pa-gemini5")])
    gemini_ai = sum(r["verdict"] == "ai" for r in gemini)
    bad, second = disagreeing(play + gemini + cli_rows([str(args.data / "playground100")]))
    cost = provenance_cost(args.data / "playground100")
    ece = calibration(oos, a, b, y_play, p_play)
    text = render(det, rel, fitted, nest, held, gemini, gemini_ai, bad, second, cold_start(args.light_venv), cost, ece)
    replace_section(args.doc, "verdicts", text)
    print(text)


def _cell(e: dict) -> str:
    share = f"{e['wrong'] / e['likely']:.1%} wrong" if e["likely"] else "none given"
    return f"{e['likely']} ({share})"


def _total(parts: dict) -> dict:
    return {k: sum(p[k] for p in parts.values()) for k in ("n", "likely", "wrong", "inconclusive")}


def render(det, rel, fitted, nest, held, gemini, gemini_ai, bad, second, cold, cost, ece) -> str:
    t = det.tiers
    command = "python benchmarks/verdicts.py " + shlex.join(sys.argv[1:])
    rows = [
        f"| {d} (fold without it) | {e['n']} | {_cell(e)} | {_cell(nest[d])} | {e['inconclusive'] / e['n']:.0%} |"
        for d, e in fitted.items()
    ]
    f_all, n_all = _total(fitted), _total(nest)
    rows.append(f"| **all folds** | {f_all['n']} | {_cell(f_all)} | {_cell(n_all)} | "
                f"{f_all['inconclusive'] / f_all['n']:.0%} |")  # fmt: skip
    rows.append(f"| **playground100** (held out, shipped model) | {held['n']} | {_cell(held)} | | "
                f"{held['inconclusive'] / held['n']:.0%} |")  # fmt: skip
    lines = [
        "## Verdicts: provenance first, pixel tiers measured on unseen sources (`benchmarks/verdicts.py`)",
        "",
        f"- Command: `{command}`",
        f"- Machine: {machine()}",
        f"- Shipped tiers: likely AI from {t.likely_ai_from}, likely real below {t.likely_real_below} (target: right "
        f"{t.target:.0%} of the time at an even mix of classes and sources). The most confident out-of-source tails of "
        f"30 or more images were right at most {t.best_ai:.0%} (calling AI) and {t.best_real:.0%} (calling real).",
        f"- Out-of-source calibration: P(AI) = sigmoid({rel['platt']['a']:.3f} z + {rel['platt']['b']:.3f}) of the "
        f"validation-calibrated logit z; pooled out-of-source ROC-AUC {rel['roc_auc_pooled']:.3f}. ECE (15 bins): "
        f"{ece}",
        "",
        'Pixel-only "likely AI" / "likely real" verdicts on sources the model never saw. *Fitted*: the shipped '
        "tiers, chosen on these very fold scores. *Nested*: Platt map and bounds chosen again without the set, then "
        "applied to it (what the rule gives a source it was not chosen on).",
        "",
        "| scores | images | likely verdicts, fitted | likely verdicts, nested | inconclusive |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"- Signed Gemini images (`c2pa-gemini5`) called AI by plain `realorai predict`: "
        f"**{gemini_ai} / {len(gemini)}** (bases: {sorted({r['basis'] for r in gemini})})",
        f"- Rows whose verdict disagrees with the rule applied to their own findings and tier: **{bad}**; rows with a "
        f"second verdict field: **{second}** (playground100 with and without provenance, c2pa-gemini5)",
        f"- Cold `realorai predict one.jpg`, provenance read by default: {cold} (target ≤ 1.5 s)",
        f"- What reading provenance costs in a scan (full install): {cost}",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
