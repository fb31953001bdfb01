"""How rows are shown on a terminal: a table, blocks of findings, JSON lines or CSV (the same
columns as ``predict -o x.csv``: ``inference.rows.flat_row``)."""

from __future__ import annotations

import csv
import json
import os
import re
import sys

from rich.table import Table

from realorai.cli.common import out, shown
from realorai.inference.rows import FLAT_COLUMNS, flat_row, spreadsheet_safe

LOW_CONFIDENCE = "low confidence: smaller than the detector's crop, upsampled"
# The table prints the row's own words (`likely_ai`, `match`), as --json, the API and the docs do.


def print_rows(rows: list[dict], as_json: bool, as_csv: bool, blocks: bool = False) -> None:
    if as_json:
        for r in rows:
            sys.stdout.write(json.dumps(r) + "\n")
    elif as_csv:
        w = csv.DictWriter(sys.stdout, fieldnames=list(FLAT_COLUMNS))
        w.writeheader()
        w.writerows({k: spreadsheet_safe(v) for k, v in flat_row(r).items()} for r in rows)
    elif blocks:
        for r in rows:  # one block per image: findings are sentences, not table cells
            _print_block(r)
    else:
        _print_table(rows)


def _p(v: float | None) -> str:
    return "" if v is None else f"{v:.3f}"


def tiers_caption(rows: list[dict]) -> str:
    """The tier bounds of the model that scored ``rows``, in one line under the table."""
    scored = next((r for r in rows if r["p_ai"] is not None), None)
    if scored is None or not any(r["basis"] == "pixels" for r in rows):
        return ""  # no row rests on the pixel tiers (all decided by a credential or the bank)
    lo, hi = scored["likely_real_below"], scored["likely_ai_from"]
    if lo is None and hi is None:
        # Where the tiers were measured: sources the model never saw, or an adapted head's examples.
        where = re.match(r"On (.+?), no range", scored.get("reliability") or "")
        return (
            f"This model has no 'likely' tiers: no P(AI) range was right 90% of the time on "
            f"{where.group(1) if where else 'sources it never saw'}, so a verdict from pixels alone is always "
            "inconclusive."
        )
    parts = [f"likely real below {lo:.3f}" if lo is not None else "no 'likely real' tier",
             f"likely AI from {hi:.3f}" if hi is not None else "no 'likely AI' tier"]  # fmt: skip
    return (
        f"Pixel tiers (chosen on sources the model never saw): {'; '.join(parts)}; between: inconclusive. "
        "A verified content credential decides over pixels."
    )


# Parts of "why" that the table's other columns or its caption already say.
_SAID_ELSEWHERE = re.compile(
    r"^(Pixels only: P\(AI\) [0-9.e-]+|no score of this model was reliable on .+|no verified provenance)$"
)


def table_note(row: dict) -> str:
    """The row's ``why`` for a table cell: without what the verdict, basis and P(AI) columns and
    the tier caption already say; a credential's long description cut to its signer."""
    if row["verdict"] == "error":
        return row["error"]
    if row["basis"] == "provenance" and row["verdict"] == "inconclusive":
        return row["why"]
    if row["basis"] == "provenance":
        signer = re.search(r"signed by ([^,;()]+)", row["why"])
        return "verified C2PA credential" + (f", signed by {signer.group(1).strip()}" if signer else "")
    parts = [p.strip().rstrip(".") for p in row["why"].split(";")]
    kept = [p for p in parts if p and not _SAID_ELSEWHERE.match(p)]
    return "; ".join(kept)


def common_folder(paths: list[str]) -> str:
    """The folder every path lies in, when there are several paths and one such folder ("" if not):
    the table then shows paths below it, so a narrow terminal does not fold every name."""
    if len(paths) < 2:
        return ""
    try:
        folder = os.path.commonpath([os.path.dirname(p) for p in paths])
    except ValueError:  # absolute and relative paths mixed, or another drive
        return ""
    return folder if folder and all(p.startswith(folder + os.sep) for p in paths) else ""


def _print_table(rows: list[dict]) -> None:
    folder = common_folder([r["path"] for r in rows])
    notes = [shown(table_note(r)) for r in rows]
    table = Table(caption=tiers_caption(rows) or None, expand=True)
    names = [shown(r["path"][len(folder) + 1 :] if folder else r["path"]) for r in rows]
    # The file column is as wide as its longest name (up to 48): a path is folded only past that,
    # and the note (words, which wrap at spaces) gives way first.
    table.add_column(f"file (in {shown(folder)}{os.sep})" if folder else "file", ratio=3, overflow="fold",
                     min_width=min(48, max(map(len, names), default=4)))  # fmt: skip
    table.add_column("verdict", no_wrap=True)
    table.add_column("basis", no_wrap=True)
    table.add_column("P(AI), tier", min_width=13)
    has_notes = any(notes)
    if has_notes:  # never cut a path or a reason; no empty column
        table.add_column("note", ratio=3, overflow="fold")
    for r, note, name in zip(rows, notes, names, strict=True):
        score = "" if r["p_ai"] is None else f"{r['p_ai']:.3f} {r['tier']}"
        table.add_row(name, _verdict(r), r["basis"], score, *([note] if has_notes else []))
    out.print(table)


def _verdict(r: dict) -> str:
    text = r["verdict"]
    if r["basis"] == "provenance":
        return f"[bold]{text}[/]"
    return text


def _print_block(r: dict) -> None:
    out.print(f"[bold]{shown(r['path'])}[/]")
    if r["verdict"] == "error":
        out.print(f"  [red]could not be read:[/] {shown(r['error'])}")
        return
    if r["error"]:
        out.print(f"  [red]problem:[/] {shown(r['error'])}")
    out.print(f"  verdict:  [bold]{r['verdict']}[/] (basis: {r['basis']})")
    out.print(f"  why:      {shown(r['why'])}")
    if r["p_ai"] is None:
        out.print("  pixels:   no pixel score")
    else:
        lo, hi = r["likely_real_below"], r["likely_ai_from"]
        bounds = (
            "this model has no 'likely' tiers"
            if lo is None and hi is None
            else f"likely real < {_p(lo) or 'none'}, likely AI >= {_p(hi) or 'none'}"
        )
        low = f" ({LOW_CONFIDENCE})" if r.get("low_confidence") else ""
        out.print(f"  pixels:   P(AI) {r['p_ai']:.3f}, tier {r['tier']} ({bounds}){low}")
    if r["reliability"]:
        out.print(f"  measured: {shown(r['reliability'])}")
    if r["findings"] is None:
        out.print("  provenance not read (--pixels-only)")
        return
    for f in r["findings"]:
        arrow = f" -> {f['points_to']}" if f["points_to"] else ""
        tag = shown(f"[{'note' if f['strength'] == 'none' else f['strength']}{arrow}]")
        out.print(f"  {tag} {f['source']}: {shown(f['what'])}")
    if not r["findings"]:
        out.print("  no provenance evidence found (absence proves nothing: most uploads strip it)")
    if "manifest_store" in r:  # inspect --manifest
        store = r["manifest_store"]
        text = json.dumps(store, indent=2) if store is not None else "none (the file carries no C2PA manifest store)"
        out.print("  manifest store:")
        for line in text.splitlines():  # line by line: shown() escapes newlines like any control character
            out.print("    " + shown(line), highlight=False)
