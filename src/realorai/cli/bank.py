"""``realorai bank``: the bank of known images (add, list, revoke, remove, stats)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from realorai.cli.common import EXIT_NOTHING, EXIT_PARTIAL, TRUST_HELP, App, Quiet, err, fail, out, shown

app = App(help="A bank of known images: copies of its pictures (re-encoded, resized, flipped) get their evidence back.")
BankFile = Annotated[
    str,
    typer.Option(
        "--bank", envvar="REALORAI_BANK", help="The bank: an SQLite file, or a PostgreSQL URL (postgresql://...)."
    ),
]


class Label(StrEnum):
    ai = "ai"
    real = "real"


def _where(bank: str) -> str:
    """The bank as messages name it (a database URL without its password)."""
    from realorai.bank.engine import shown_url

    return shown_url(str(bank))


def _bank(path: str, create: bool = False):
    from realorai.bank import Bank

    try:
        return Bank(path, create=create)
    except (FileNotFoundError, ValueError) as e:
        fail(str(e))


def open_bank(bank: str | None, learn: bool, pixels_only: bool) -> str | None:
    """The bank file, checked before any work (a file that is not a bank is refused by name)."""
    if learn and not bank:
        fail("--bank-learn needs --bank FILE (or REALORAI_BANK), the bank to add to")
    if not bank:
        return None
    if pixels_only:
        fail("--bank matches pictures as evidence; --pixels-only reads none: choose one")
    from realorai.bank import Bank

    try:
        Bank(bank, create=learn)
    except (FileNotFoundError, ValueError) as e:
        fail(str(e))
    return bank


def learn_from_rows(bank: str, c2pa_trust: str | None, rows: list[dict]) -> None:
    """--bank-learn: bank each image of ``rows`` whose verified credential decided it."""
    from realorai.bank import Bank
    from realorai.bank.add import learn
    from realorai.provenance import resolve

    rows = [r for r in rows if r["verdict"] != "error"]
    added = learn(Bank(bank), [r["path"] for r in rows], rows, resolve(c2pa_trust))
    banked = [a for a in added if a.status == "banked"]
    err.print(f"--bank-learn: {len(banked)} images with a verified credential banked in {shown(bank)}")
    for a in added:
        if a.warning:
            err.print(f"[bold red]warning:[/] {shown(a.path)}: {shown(a.warning)}", highlight=False)


@app.command("add")
def add_cmd(
    paths: Annotated[list[str], typer.Argument(help="Image files, folders or glob patterns.", metavar="PATH...")],
    bank: BankFile,
    label: Annotated[Label | None, typer.Option(help="Bank a person's confirmation: ai or real (with --by).")] = None,
    by: Annotated[str, typer.Option(help="Who confirmed the label (with --label).")] = "",
    note: Annotated[str, typer.Option(help="A note kept with each entry.")] = "",
    c2pa_trust: Annotated[str | None, typer.Option(help=TRUST_HELP)] = None,
    stream: Annotated[
        str | None, typer.Option(help="Also learn each confirmation into this stream (realorai learn; with --label).")
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Bank images whose content credential verifies now under the trust list (label and signer
    from the credential), or, with --label and --by, a person's confirmation.

    Exit codes: 0 every image banked or already there; 1 some were not; 2 usage error; 3 none banked."""
    from realorai.inference.inputs import find_inputs
    from realorai.learn.loop import bank_and_learn
    from realorai.provenance import resolve

    if (label is None) != (not by.strip()):
        fail("--label and --by go together: a confirmation names its label and who confirmed it")
    if stream is not None and label is None:
        fail("--stream learns a person's confirmation: give --label ai|real --by NAME")
    try:
        trust = resolve(c2pa_trust)
    except (FileNotFoundError, ValueError) as e:
        fail(str(e))
    from realorai.progress import progress_bar

    found = find_inputs(paths)
    store = _bank(bank, create=True)
    results = []
    with progress_bar("bank add", len(found.files), not quiet and len(found.files) > 1) as advance:
        for f in found.files:
            try:
                results.append(bank_and_learn(store, f, label.value if label else None, by, note, stream, trust))
            except ValueError as e:  # the bank itself failed (a full disk): what was banked stays banked
                fail(f"{e} ({len(results)} images done before it)")
            advance()
    for item, reason in found.missing.items():
        err.print(f"{shown(item)}: {shown(reason)}", highlight=False)
    for r in results:
        line = f"{shown(r.path)}: {r.status}" + (f" (entry {r.entry})" if r.status == "banked" else "")
        out.print(f"{line}: {shown(r.why)}" if r.why else line, highlight=False)
        if r.warning:
            err.print(f"[bold red]warning:[/] {shown(r.path)}: {shown(r.warning)}", highlight=False)
    banked = sum(r.status == "banked" or "already banked" in r.why for r in results)
    err.print(f"{banked} of {len(results)} images in {shown(_where(bank))}")
    if not banked:
        raise typer.Exit(EXIT_NOTHING)
    if banked < len(results) or found.missing:
        raise typer.Exit(EXIT_PARTIAL)


@app.command("list")
def list_cmd(bank: BankFile, revoked: Annotated[bool, typer.Option("--revoked", help="Revoked ones too.")] = False):
    """The entries: id, label, evidence, who (signer or confirmer), when, file name, hash."""
    from rich.table import Table

    table = Table("id", "label", "evidence", "who", "added", "name", "pdq", "revoked")
    for e in _bank(bank).entries(include_revoked=revoked):
        table.add_row(str(e.id), e.label, e.evidence, shown(e.who), e.added_at[:10], shown(e.name), e.pdq[:16] + "…",
                      shown(f"{e.revoked_at[:10]} {e.revoked_why}".strip()))  # fmt: skip
    out.print(table)


@app.command("revoke")
def revoke_cmd(ids: list[int], bank: BankFile, why: Annotated[str, typer.Option(help="Why (kept).")] = "",
               by: Annotated[str, typer.Option(help="Who revokes (in the bank's log).")] = "") -> None:  # fmt: skip
    """Stop entries from matching (they stay in the bank, marked revoked)."""
    try:
        n = _bank(bank).revoke(ids, why, by)
    except ValueError as e:
        fail(str(e))
    out.print(f"revoked {n} of {len(ids)} entries")


@app.command("remove")
def remove_cmd(ids: list[int], bank: BankFile,
               by: Annotated[str, typer.Option(help="Who removes (in the bank's log).")] = "") -> None:  # fmt: skip
    """Delete entries from the bank (the log keeps that they were there, and who removed them)."""
    try:
        n = _bank(bank).remove(ids, by)
    except ValueError as e:
        fail(str(e))
    out.print(f"removed {n} of {len(ids)} entries")


@app.command("stats")
def stats_cmd(bank: BankFile) -> None:
    """How many entries, by label and evidence; revoked; the file's size."""
    s = _bank(bank).stats()
    out.print(f"{s['entries']} entries ({s['revoked']} revoked), {s['bytes'] / 1e6:.2f} MB")
    for k, n in sorted(s["by"].items()):
        out.print(f"  {k}: {n}")


@app.command("export")
def export_cmd(
    bank: BankFile,
    output: Annotated[Path, typer.Option("--output", "-o", help="The CSV file to write (docs/BANK.md).")],
    revoked: Annotated[bool, typer.Option("--revoked", help="Revoked entries too.")] = False,
) -> None:
    """Write the bank's hashes with their tags as CSV (no thumbnails, names or paths)."""
    from realorai.bank.exchange import export

    try:
        n = export(_bank(bank), output, revoked)
    except OSError as e:
        fail(f"{output}: cannot write ({e.strerror or e})", code=EXIT_NOTHING)
    out.print(f"exported {n} entries to {shown(str(output))}")


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="A CSV export (realorai's, or hash,label lines).")],
    bank: BankFile,
    by: Annotated[str, typer.Option(help="Who imports: the entries are confirmed by this name.")],
    label: Annotated[Label | None, typer.Option(help="The label of rows that state none.")] = None,
    verify_with: Annotated[
        list[str] | None,
        typer.Option(
            help="Original files (or folders): a row whose file is here and whose credential verifies "
            "now stays c2pa-verified."
        ),  # fmt: skip
    ] = None,
    c2pa_trust: Annotated[str | None, typer.Option(help=TRUST_HELP)] = None,
    source: Annotated[str, typer.Option(help="A source name for these entries (`bank source-off` switches it).")] = "",
) -> None:
    """Bank the hashes of an export. A hash carries no credential to check: rows are banked as
    confirmed by --by, unless their original is given with --verify-with and verifies now.

    Exit codes: 0 all rows imported or already there; 1 some lines were bad; 2 usage error; 3 none imported."""
    from realorai.bank.exchange import import_text
    from realorai.provenance import resolve

    if not by.strip():
        fail("--by NAME: imported entries are banked as confirmed by the importer")
    from realorai.bank.store import check_source_name

    if source and not check_source_name(source):
        fail(f"--source {source[:40]!r}: use 1-64 letters, digits, '.', '_' or '-'")
    try:
        trust = resolve(c2pa_trust)
        store = _bank(bank, create=True)
        with open(file, encoding="utf-8-sig", newline="") as f:  # streamed: memory does not grow with the file
            done = import_text(store, f, by, file.name, label=label.value if label else None,
                               verify_with=_originals(verify_with or []), trust=trust, as_source=source)  # fmt: skip
    except UnicodeDecodeError as e:
        fail(f"{file}: not UTF-8 text ({e.reason} at byte {e.start} of a block): nothing was imported")
    except (FileNotFoundError, IsADirectoryError) as e:
        fail(f"{file}: {e.strerror or e}" if isinstance(e, IsADirectoryError) else str(e))
    except ValueError as e:
        fail(str(e))
    except OSError as e:
        fail(f"{file}: cannot read ({e.strerror or e})", code=EXIT_NOTHING)
    for number, why in done.bad:
        err.print(f"{shown(file.name)}:{number}: bad line: {shown(why)}", highlight=False)
    for number, why in done.skipped:
        err.print(f"{shown(file.name)}:{number}: skipped: {shown(why)}", highlight=False)
    n = done.counts
    more = [f"{n[k] - len(getattr(done, k))} more {k} lines not listed" for k in ("bad", "skipped")
            if n[k] > len(getattr(done, k))]  # fmt: skip
    for line in more:
        err.print(line)
    out.print(f"imported {n['banked']} entries ({done.verified} re-verified as c2pa-verified), "
              f"{n['skipped']} skipped, {n['bad']} bad lines")  # fmt: skip
    if not n["banked"] and not n["skipped"]:
        raise typer.Exit(EXIT_NOTHING)
    if n["bad"]:
        raise typer.Exit(EXIT_PARTIAL)


def _originals(paths: list[str]) -> dict[str, str]:
    """{sha256: file} of the images under ``paths`` (for --verify-with)."""
    from realorai.hashing import sha256_file
    from realorai.inference.inputs import find_inputs

    found = {}
    for f in find_inputs(paths).files if paths else []:
        try:
            found[sha256_file(f)] = f
        except OSError:
            continue
    return found
