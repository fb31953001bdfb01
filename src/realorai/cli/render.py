"""How rows are shown on a terminal: a table, blocks of findings, JSON lines or CSV (the same
columns as ``predict -o x.csv``: ``inference.rows.flat_row``)."""

from __future__ import annotations

import csv
import json
import sys

from rich.table import Table

from realorai.cli.common import out, shown
from realorai.inference.rows import FLAT_COLUMNS, flat_row

LOW_CONFIDENCE = "low confidence: smaller than the detector's crop, upsampled"


def print_rows(rows: list[dict], as_json: bool, as_csv: bool) -> None:
    if as_json:
        for r in rows:
            sys.stdout.write(json.dumps(r) + "\n")
    elif as_csv:
        w = csv.DictWriter(sys.stdout, fieldnames=list(FLAT_COLUMNS))
        w.writeheader()
        w.writerows(flat_row(r) for r in rows)
    elif any("combined" in r for r in rows):
        for r in rows:  # one block per image: findings are sentences, not table cells
            _print_block(r)
    else:
        table = Table("file", "verdict", "P(AI)", "note")
        table.columns[0].overflow = table.columns[3].overflow = "fold"  # never cut a path or a reason
        for r in rows:
            p = "" if r["p_ai"] is None else f"{r['p_ai']:.3f}"
            note = r["error"] or (LOW_CONFIDENCE if r.get("low_confidence") else "")
            table.add_row(shown(r["path"]), r["verdict"], p, shown(note))
        out.print(table)


def _print_block(r: dict) -> None:
    out.print(f"[bold]{shown(r['path'])}[/]")
    if r["error"] and r["p_ai"] is None:
        out.print(f"  [red]could not be read:[/] {shown(r['error'])}")
        return
    if r["error"]:
        out.print(f"  [red]problem:[/] {shown(r['error'])}")
    pixels = (
        "no pixel model"
        if r["p_ai"] is None
        else (f"P(AI) {r['p_ai']:.3f} -> {r['verdict']} (threshold {r['threshold']:.3f})")
    )
    out.print(f"  pixels:   {pixels}" + (f" ({LOW_CONFIDENCE})" if r.get("low_confidence") else ""))
    c = r.get("combined")
    if c:
        if c["verdict"] == "conflict":
            out.print(f"  combined: [bold]{shown(c['basis'])}[/]")
        else:
            out.print(f"  combined: [bold]{c['verdict']}[/] by {shown(c['basis'])}")
    for f in r.get("findings", []):
        arrow = f" -> {f['points_to']}" if f["points_to"] else ""
        tag = shown(f"[{f['strength']}{arrow}]")
        out.print(f"  {tag} {f['source']}: {shown(f['what'])}")
    if not r.get("findings") and not r["error"]:
        out.print("  no provenance evidence found (absence proves nothing: most uploads strip it)")
