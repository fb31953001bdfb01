"""``realorai adapt``: teach the detector one source from a few confirmed examples."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from realorai.cli.common import TRUST_HELP, Quiet, err, fail, out, shown


def adapt_cmd(
    folder: Annotated[
        str | None, typer.Argument(help="A folder of examples with ai/ and real/ sub-folders.", show_default=False)
    ] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Folder to write the adapted model to.")] = None,
    ai: Annotated[list[str] | None, typer.Option("--ai", help="AI examples: a folder or file (repeatable).")] = None,
    real: Annotated[
        list[str] | None, typer.Option("--real", help="Real examples, e.g. photos you vouch for (repeatable).")
    ] = None,
    from_evidence: Annotated[
        list[str] | None,
        typer.Option(
            "--from-evidence",
            help="A scan (`predict -o` output) or a folder to scan: images whose verified C2PA credential labels "
            "them become examples, and the others are scored by the adapted model (repeatable).",
        ),
    ] = None,
    base: Annotated[Path | None, typer.Option(help="Detector to adapt (default: the shipped one).")] = None,
    name: Annotated[str, typer.Option(help="What the examples are (goes into the model card).")] = "",
    views: Annotated[int, typer.Option(help="Augmented views per example (rescale, crop, blur, JPEG).")] = 4,
    seed: Annotated[int, typer.Option(help="Seed of the cross-validation folds and the augmented views.")] = 0,
    c2pa_trust: Annotated[str | None, typer.Option(help=TRUST_HELP)] = None,
    quiet: Quiet = False,
) -> None:
    """A head adapted to one source (a generator, a channel, a collection) from a few labelled
    examples, pulled toward the shipped detector's head and checked by cross-validation on the
    examples; use it with --model OUTPUT in predict, inspect, serve and Python.

    Exit codes: 0 adapted; 2 usage error (no output, examples of one class only...); 3 failed."""
    import pandas as pd

    from realorai.inference.adapt import adapt
    from realorai.inference.examples import from_evidence as evidence_examples
    from realorai.inference.examples import from_folders
    from realorai.provenance import resolve

    if output is None:
        fail("give -o OUTPUT, the folder to write the adapted model to")
    if views < 0:
        fail(f"--views must be 0 or more, got {views}")
    try:
        trust = resolve(c2pa_trust)
        examples = from_folders(folder, ai or [], real or [])
        unlabelled: list[str] = []
        if from_evidence:
            proven, unlabelled = evidence_examples(from_evidence, trust, not quiet)
            err.print(f"{len(proven)} examples labelled by verified provenance; {len(unlabelled)} images without it")
            examples = pd.concat([examples, proven], ignore_index=True).drop_duplicates("path")
        if examples.empty:
            fail("no examples: give a folder with ai/ and real/, --ai and --real, or --from-evidence")
        report = adapt(examples, output, base, views, seed, name, not quiet, lambda m: err.print(shown(m)))
    except (FileNotFoundError, ValueError) as e:
        fail(str(e))
    print_report(report, output)
    if unlabelled:
        _score(unlabelled, output, trust, quiet)


def print_report(report: dict, output: Path) -> None:
    ex, cv, t = report["examples"], report["cross_validation"], report["tiers"]
    lo, hi = cv["roc_auc_95"]
    at = cv["at_0.5"]
    out.print(
        f"adapted on {ex['ai']} AI + {ex['real']} real examples ({ex['groups']} near-duplicate groups, "
        f"{ex['views']} augmented views each) in {report['seconds']:.0f} s"
    )
    reprocessed = cv.get("roc_auc_reprocessed")
    again = f"; re-processed (rescaled, blurred, re-encoded) {reprocessed:.3f}" if reprocessed is not None else ""
    out.print(
        f"cross-validated ({cv['folds']}-fold, held-out examples of this source): ROC-AUC {cv['roc_auc']:.3f} "
        f"(95% interval {lo:.2f}-{hi:.2f}){again}; at P(AI) 0.5: false-positive rate "
        f"{at['false_positive_rate']:.0%}, recall {at['recall']:.0%}"
    )
    tiers = []
    if t["likely_ai_from"] is not None:
        tiers.append(f"likely AI from {t['likely_ai_from']:.3f} (right {t['right_ai']:.0%} of {t['n_ai']})")
    if t["likely_real_below"] is not None:
        tiers.append(f"likely real below {t['likely_real_below']:.3f} (right {t['right_real']:.0%} of {t['n_real']})")
    out.print("tiers: " + ("; ".join(tiers) if tiers else "none reached 90% on held-out examples: every verdict "
                           "from this model will be inconclusive"))  # fmt: skip
    for w in report["warnings"]:
        err.print(f"[bold red]warning:[/] {shown(w)}", highlight=False)
    out.print(f"wrote {shown(str(output))}: use it with --model {shown(str(output))} (model card: MODEL_CARD.md)")


def _score(paths: list[str], output: Path, trust, quiet: bool) -> None:
    """The images without provenance, scored by the adapted model, into OUTPUT/scored.jsonl."""
    import json
    from collections import Counter

    from realorai.atomic import write_text
    from realorai.inference.predict import predict

    rows, _ = predict(paths, output, show_progress=not quiet, c2pa_trust=trust)
    write_text(output / "scored.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    counts = dict(Counter(r["verdict"] for r in rows))
    out.print(f"scored the {len(rows)} images without provenance: {counts} -> {shown(str(output / 'scored.jsonl'))}")
