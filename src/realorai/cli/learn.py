"""``realorai learn``: streams that learn from their reviewers' confirmations (add, fit, status)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from realorai.cli.bank import BankFile, _bank, _where
from realorai.cli.common import EXIT_NOTHING, EXIT_PARTIAL, App, Quiet, err, fail, out, shown

app = App(help="Streams that learn from their reviewers' confirmations, and say when they stop knowing.")
Stream = Annotated[str, typer.Option("--stream", help="The stream's name (a platform's uploads, a desk, a campaign).")]


@app.command("add")
def add_cmd(
    folder: Annotated[Path, typer.Argument(help="A folder with ai/ and real/ sub-folders of confirmed images.")],
    stream: Stream,
    bank: BankFile,
    by: Annotated[str, typer.Option(help="Who confirmed these labels.")],
    features: Annotated[
        str, typer.Option(help="The stream's features, when it is new: early (built in) or clip-b16 (weights).")
    ] = "early",
    quiet: Quiet = False,
) -> None:
    """Confirmed examples into a stream: each image is banked as confirmed by --by, and its
    features (never its pixels) are kept for the stream, scored first by its current version.

    Exit codes: 0 all learned or already there; 1 some were not; 2 usage error; 3 none learned."""
    from realorai.imaging import IMAGE_EXTENSIONS, ImageLoadError, walk_files
    from realorai.learn.loop import confirm
    from realorai.progress import progress_bar

    if not by.strip():
        fail("--by NAME: only a person's confirmation teaches a stream")
    items = [(f, label) for label in ("ai", "real") for f in walk_files(folder / label)
             if f.suffix.lower() in IMAGE_EXTENSIONS] if folder.is_dir() else []  # fmt: skip
    if not items:
        fail(f"{folder}: no images under {folder / 'ai'} or {folder / 'real'}")
    store = _bank(bank, create=True)
    done = []
    with progress_bar("learn add", len(items), not quiet) as advance:
        for f, label in items:
            try:
                done.append(confirm(store, stream, f, label, by, features_name=features))
            except ImageLoadError as e:
                done.append({"status": "error", "why": e.reason})
            except ValueError as e:
                fail(str(e))
            if done[-1]["status"] not in ("learned", "skipped"):
                err.print(f"{shown(str(f))}: {done[-1]['status']}: {shown(done[-1]['why'])}", highlight=False)
            advance()
    learned = sum(d["status"] == "learned" for d in done)
    out.print(f"{learned} of {len(items)} examples learned into stream {stream!r} ({shown(_where(bank))})")
    if not learned and not any(d["status"] == "skipped" for d in done):
        raise typer.Exit(EXIT_NOTHING)
    if learned < len(items):
        raise typer.Exit(EXIT_PARTIAL)


@app.command("fit")
def fit_cmd(stream: Stream, bank: BankFile, seed: int = 0) -> None:
    """Fit a new version of the stream's head on every confirmation that still stands (revoked
    and removed bank entries are left out): its cross-validated ROC-AUC and tiers, as adapt's."""
    from realorai.learn.loop import fit

    try:
        got = fit(_bank(bank), stream, seed)
    except ValueError as e:
        fail(str(e), code=EXIT_NOTHING)
    t = got["tiers"]
    tiers = "no 'likely' tier reached 90%" if t["likely_ai_from"] is None and t["likely_real_below"] is None else (
        f"likely real below {t['likely_real_below']}, likely AI from {t['likely_ai_from']}")  # fmt: skip
    n = got["examples"]
    out.print(f"stream {stream!r} version {got['version']}: {n['ai']} AI + {n['real']} real examples, "
              f"cross-validated ROC-AUC {got['cv_roc_auc']:.3f}; {tiers}; {got['seconds']} s")  # fmt: skip
    if got.get("would_help"):
        out.print(f"  {shown(got['would_help'])}")


@app.command("status")
def status_cmd(
    bank: BankFile,
    stream: Annotated[str | None, typer.Option("--stream", help="One stream (default: all).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
) -> None:
    """Each stream: its examples, version, tiers, their recent precision and any suspension."""
    from realorai.learn import store
    from realorai.learn.loop import status

    b = _bank(bank)
    try:
        found = [status(b, s) for s in ([stream] if stream else store.names(b))]
    except ValueError as e:
        fail(str(e))
    if as_json:
        out.print_json(json.dumps(found))
        return
    if not found:
        out.print("no streams in this bank (`realorai learn add --stream NAME ...` makes one)")
    for s in found:
        version = f"version {s['version']}" if s["version"] else "not fitted yet"
        out.print(f"{s['name']}: {s['examples']['ai']} AI + {s['examples']['real']} real examples "
                  f"({s['features']} features), {version}")  # fmt: skip
        if (s.get("fitted") or {}).get("would_help"):
            out.print(f"  {shown(s['fitted']['would_help'])}")
        for tier, g in (s["guard"] or {}).items():
            line = "no confirmation in this tier yet" if not g["decided"] else (
                f"{g['decided'] - g['wrong']} of the last {g['decided']} right ({g['precision']:.0%})")  # fmt: skip
            out.print(f"  {tier}: {line}" + (f" - SUSPENDED: {shown(g['why'])}" if g["suspended"] else ""))
