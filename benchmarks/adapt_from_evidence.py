"""Labels from provenance, end to end: images that prove themselves teach the detector to
recognise their stripped siblings (issue 23). Writes the RESULTS.md section "adapt_from_evidence_SET".

    python benchmarks/adapt_from_evidence.py [--set game450] [--base RUN] [--ks 10 25] [--seeds 3]

The case, built from a training-pool set (never from c2pa-gemini5, whose SOURCE.md forbids
training a pixel model on it): a generator that signs what it makes, as Gemini, OpenAI and
Adobe do. For each K and seed, K of the set's AI images are signed with C2PA by a test CA
declaring `trainedAlgorithmicMedia` (the CA is the trust list given with --c2pa-trust, as a
newsroom would add its partners'); the set's other images circulate *stripped*: decoded and
re-encoded as JPEG q85 with no metadata, AI and real alike. K real images of the set are the
photos the user vouches for (`--real`). Then, as a user would run it:

    realorai predict incoming/ -o scan.jsonl --c2pa-trust ca.pem
    realorai adapt --from-evidence scan.jsonl --real vouched/ -o model/ --c2pa-trust ca.pem

and the adapted model's verdicts on the stripped images are compared with the truth, beside the
shipped model's on the same images.
"""

from __future__ import annotations

import argparse
import io
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from kshot import draw  # noqa: E402
from kshot_features import frame  # noqa: E402
from reproduce_report import machine, replace_section  # noqa: E402

from realorai.imaging import load_image  # noqa: E402
from realorai.tiers import likely_counts, roc_auc  # noqa: E402


def stripped(src: str, dst: Path) -> None:
    """The image as it circulates: decoded, re-encoded as JPEG q85, every metadata gone."""
    load_image(src).save(dst, "JPEG", quality=85)


def rows_by_name(path: Path) -> dict:
    return {Path(r["path"]).name: r for r in map(json.loads, path.read_text().splitlines())}


def realorai(*args: str) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    proc = subprocess.run(["realorai", *args, "-q"], capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        sys.exit(f"realorai {' '.join(args)} failed ({proc.returncode}): {proc.stderr[-800:]}")
    return time.perf_counter() - t0, proc


def one_case(df, k: int, seed: int, work: Path, signer, ca: Path, views: int | None = None, base=None) -> dict:
    from c2pa_fixtures import sign_jpeg

    train, test = draw(df, k, seed)
    incoming, vouched = work / "incoming", work / "vouched"
    incoming.mkdir(parents=True)
    vouched.mkdir()
    for i in train:
        path, y = df.at[i, "path"], df.at[i, "y"]
        if y == 1:  # published with the generator's signature
            buf = io.BytesIO()
            load_image(path).save(buf, "JPEG", quality=95)
            sign_jpeg(buf.getvalue(), incoming / f"signed_{i}.jpg", signer, "trainedAlgorithmicMedia")
        else:
            (vouched / f"real_{i}{Path(path).suffix}").write_bytes(Path(path).read_bytes())
    truth = {}
    for i in test:
        name = f"stripped_{i}.jpg"
        stripped(df.at[i, "path"], incoming / name)
        truth[name] = int(df.at[i, "y"])
    trust = ["--c2pa-trust", str(ca), *(["--views", str(views)] if views is not None else [])]
    model = ["--model", str(base)] if base else []
    _, _ = realorai("predict", str(incoming), "-o", str(work / "scan.jsonl"), *trust[:2], *model)
    trust += ["--base", str(base)] if base else []
    seconds, proc = realorai("adapt", "--from-evidence", str(work / "scan.jsonl"), "--real", str(vouched), "-o",
                             str(work / "model"), *trust)  # fmt: skip
    report = json.loads((work / "model" / "adapt_report.json").read_text())
    # The same examples as folders, nothing else to score: what `realorai adapt` alone takes.
    signed_only = work / "signed"
    signed_only.mkdir()
    for f in incoming.glob("signed_*.jpg"):
        (signed_only / f.name).write_bytes(f.read_bytes())
    plain, _ = realorai(
        "adapt", "--ai", str(signed_only), "--real", str(vouched), "-o", str(work / "plain"), *trust[2:]
    )
    scan, scored = rows_by_name(work / "scan.jsonl"), rows_by_name(work / "model" / "scored.jsonl")
    names = sorted(truth)
    y = np.array([truth[n] for n in names])
    p_new = np.array([scored[n]["p_ai"] for n in names], dtype=float)
    p_old = np.array([scan[n]["p_ai"] for n in names], dtype=float)
    verdicts = [scored[n]["verdict"] for n in names]
    counts = likely_counts(verdicts, y)
    return {
        "k": k, "seed": seed, "proven": sum(r["basis"] == "provenance" for r in scan.values()),
        "test": len(names), "auc_adapted": roc_auc(p_new, y), "auc_shipped": roc_auc(p_old, y),
        "cv_auc": report["cross_validation"]["roc_auc"], "likely": counts["likely"], "wrong": counts["wrong"],
        "likely_ai_on_ai": int(sum(v == "likely_ai" for v, t in zip(verdicts, y, strict=True) if t == 1)),
        "ai": int(y.sum()), "adapt_seconds": round(seconds, 1), "plain_seconds": round(plain, 1),
        "warnings": report["warnings"],
    }  # fmt: skip


def main() -> None:
    import tempfile

    from c2pa_fixtures import make_ca_and_signer

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--set", default="game450")
    ap.add_argument("--ks", nargs="+", type=int, default=[10, 25])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--views", type=int, default=None, help="passed to `realorai adapt` (default: its own)")
    ap.add_argument(
        "--base", type=Path, default=None, help="detector to adapt and compare with (give one that never saw --set)"
    )
    ap.add_argument("--doc", type=Path, default=ROOT / "docs" / "RESULTS.md")
    args = ap.parse_args()
    df = frame(args.data, args.set, ROOT / "runs" / "kshot")
    ca_pem, signer = make_ca_and_signer("a generator that signs its images")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "ca.pem").write_text(ca_pem)
        for k in args.ks:
            for seed in range(args.seeds):
                r = one_case(
                    df, k, seed, Path(tmp) / f"k{k}-s{seed}", signer, Path(tmp) / "ca.pem", args.views, args.base
                )
                results.append(r)
                print(json.dumps(r), flush=True)
    text = render(results, args)
    replace_section(args.doc, f"adapt_from_evidence_{args.set}", text)
    print(text)


def render(results: list[dict], args) -> str:
    command = "python benchmarks/adapt_from_evidence.py " + shlex.join(sys.argv[1:])
    lines = [
        f"### Labels from provenance, {args.set}: signed images teach the detector their stripped siblings "
        "(`benchmarks/adapt_from_evidence.py`)",
        "",
        f"- Command: `{command}`",
        f"- Machine: {machine()}",
        f"- Set: {args.set} (its AI images play a generator that signs its output; c2pa-gemini5 is never trained on); "
        f"augmented views per example: {args.views if args.views is not None else 'the default of realorai adapt'}",
        f"- Base detector (adapted from, and scored beside): {args.base or 'the shipped one'}",
        "",
        "| K signed + K vouched | seed | labelled by provenance | stripped images scored (AI) | ROC-AUC base | "
        "ROC-AUC adapted | CV estimate | likely verdicts (wrong) | stripped AI called likely AI | "
        "`adapt --from-evidence` (scoring the stripped images too) | `adapt` on the 2K examples alone |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['k']} | {r['seed']} | {r['proven']} | {r['test']} ({r['ai']}) | {r['auc_shipped']:.3f} | "
            f"**{r['auc_adapted']:.3f}** | {r['cv_auc']:.3f} | {r['likely']} ({r['wrong']}) | "
            f"{r['likely_ai_on_ai']} of {r['ai']} | {r['adapt_seconds']:.0f} s | {r['plain_seconds']:.0f} s |"
        )
    # One entry per kind of warning (the text before its figures), with how many runs printed it.
    kinds = [w.split(":")[0].split(" (")[0] for r in results for w in set(r["warnings"])]
    warned = [f"{kind} ({kinds.count(kind)} of {len(results)} runs)" for kind in sorted(set(kinds))]
    lines += ["", f"- Warnings the adapt runs printed: {', '.join(warned) or 'none'}"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
