"""``realorai adapt``: teach the detector one source from a few confirmed examples."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from realorai.cli.common import EXIT_NOTHING, TRUST_HELP, Quiet, err, fail, out, shown
from realorai.limits import MAX_ADAPT_VIEWS as MAX_VIEWS

MAX_LISTED = 10  # files named on the terminal per kind of problem


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
    views: Annotated[
        int, typer.Option(help=f"Augmented views per example (rescale, crop, blur, JPEG), 0 to {MAX_VIEWS}.")
    ] = 4,
    seed: Annotated[int, typer.Option(help="Seed of the cross-validation folds and the augmented views.")] = 0,
    features: Annotated[
        str,
        typer.Option(
            help="Features the head reads: early (the base detector's), clip-b16 and its variants, or a "
            "tower through its library: hf:REPO@BLOCK, open_clip:MODEL/TAG@BLOCK (`realorai weights list`)."
        ),  # fmt: skip
    ] = "early",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an adapted model already in OUTPUT.")] = False,
    c2pa_trust: Annotated[str | None, typer.Option(help=TRUST_HELP)] = None,
    quiet: Quiet = False,
) -> None:
    """A head adapted to one source (a generator, a channel, a collection) from a few labelled
    examples, pulled toward the shipped detector's head and checked by cross-validation on the
    examples; use it with --model OUTPUT in predict, inspect, serve and Python.

    Exit codes: 0 adapted; 2 usage error (no output, examples of one class only...); 3 failed."""
    import pandas as pd

    from realorai.inference.adapt import adapt, check_base
    from realorai.inference.examples import from_evidence as evidence_examples
    from realorai.inference.examples import from_folders
    from realorai.provenance import resolve

    if output is None:
        fail("give -o OUTPUT, the folder to write the adapted model to")
    if not 0 <= views <= MAX_VIEWS:
        fail(f"--views must be 0 to {MAX_VIEWS}, got {views} (each view is another decode and feature pass)")
    from realorai.features import is_known, list_extractors

    if not is_known(features):
        fail(f"--features {features!r}: choose one of {', '.join(list_extractors())}")
    _check_output(output, overwrite)
    try:
        trust = resolve(c2pa_trust)
        check_base(base)  # before any feature work: a wrong base is refused at once
        examples = from_folders(folder, ai or [], real or [])
        unlabelled: list[str] = []
        dropped: list[dict] = []
        if from_evidence:
            proven, unlabelled, dropped = evidence_examples(from_evidence, trust, not quiet)
            err.print(f"{len(proven)} examples labelled by verified provenance; {len(unlabelled)} images without it")
            _say_dropped(dropped)
            examples = pd.concat([examples, proven], ignore_index=True).drop_duplicates("path")
        if examples.empty:
            fail("no examples: give a folder with ai/ and real/, --ai and --real, or --from-evidence")
        log = lambda m: err.print(shown(m), highlight=False)  # noqa: E731
        report = adapt(examples, output, base, views, seed, name, not quiet, log, dropped, features)
    except (FileNotFoundError, ValueError) as e:
        fail(str(e))
    except OSError as e:  # a read-only or full file system: nothing half-written is left as a model
        fail(f"cannot write {output}: {e.strerror or e}", EXIT_NOTHING)
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


def _check_output(output: Path, overwrite: bool) -> None:
    """OUTPUT must be a folder (new, empty, or an adapted model replaced only with --overwrite)."""
    if output.exists() and not output.is_dir():
        fail(f"{output}: is a file; -o takes a folder to write the adapted model to")
    used = [p.name for p in output.iterdir() if p.name != ".lock"] if output.is_dir() else []
    if used and not overwrite:
        what = "an adapted model" if (output / "adapted.safetensors").exists() else f"{len(used)} files"
        fail(f"{output}: already holds {what}; pass --overwrite to replace it, or choose another -o")


def _say_dropped(dropped: list[dict]) -> None:
    """Rows of a scan that claimed verified provenance (or name files that are gone), left out."""
    if not dropped:
        return
    err.print(f"[bold red]warning:[/] {len(dropped)} rows of the scan left out: their files do not verify now "
              "(the scan's word is never taken) or are missing:", highlight=False)  # fmt: skip
    for d in dropped[:MAX_LISTED]:
        claim = f" (the scan says {d['claimed']})" if d["claimed"] else ""
        err.print(f"  {shown(d['path'])}{claim}: {shown(d['reason'])}", highlight=False)
    if len(dropped) > MAX_LISTED:
        err.print(f"  ... and {len(dropped) - MAX_LISTED} more (adapt_report.json lists them)")
