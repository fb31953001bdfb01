"""``realorai bank log | sources | source-off | source-on | copy``: managing a bank (its audit
log, its sources, moving it between SQLite and PostgreSQL). Registered on ``realorai bank``."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from realorai.cli.bank import BankFile, _bank, _where, app
from realorai.cli.common import err, fail, out, shown

By = Annotated[str, typer.Option(help="Who does it (kept in the bank's log).")]


@app.command("log")
def log_cmd(
    bank: BankFile,
    since: Annotated[int, typer.Option(help="Rows after this log id (a checkpoint).")] = 0,
    entry: Annotated[int | None, typer.Option(help="Only this entry's rows.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many rows.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines on stdout.")] = False,
) -> None:
    """Who added, revoked or removed which entry, and who switched a source off or on, when."""
    from realorai.bank.log import read_log

    rows = read_log(_bank(bank), since, limit, entry)
    for r in rows:
        if as_json:
            print(json.dumps(r.to_dict()))
            continue
        what = f"entry {r.entry}" if r.entry else f"source {r.source!r}"
        source = f" (source {r.source!r})" if r.entry and r.source else ""
        detail = f": {r.detail}" if r.detail else ""
        out.print(f"{r.id}  {r.at}  {shown(r.who or '-')}  {r.action} {what}{shown(source + detail)}", highlight=False)
    if not rows and not as_json:
        out.print("no log rows" + (f" after {since}" if since else ""))


@app.command("sources")
def sources_cmd(bank: BankFile, as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False):
    """The bank's sources ('' is its own): kind, on or off, entries, a subscription's URL and checkpoint."""
    from realorai.bank.sources import listed

    found = listed(_bank(bank))
    if as_json:
        out.print_json(json.dumps(found))
        return
    for s in found:
        state = "on" if s["enabled"] else "OFF (not matched)"
        where = f", {s['url']} at checkpoint {s['checkpoint']}" if s["url"] else ""
        out.print(f"{s['name'] or '(own)'}: {s['kind']}, {state}, {s['entries']} entries ({s['revoked']} revoked)"
                  f"{shown(where)}", highlight=False)  # fmt: skip


def _switch(name: str, bank: str, by: str, enabled: bool) -> None:
    from realorai.bank.sources import switch

    try:
        switch(_bank(bank), name, enabled, by)
    except ValueError as e:
        fail(str(e))
    state = "on: its entries match" if enabled else "off: its entries stay, unmatched"
    out.print(f"source {name!r} is {state}")


@app.command("source-off")
def source_off_cmd(name: str, bank: BankFile, by: By = "") -> None:
    """Stop a source's entries from matching, keeping them (every server sees it at its next request)."""
    _switch(name, bank, by, False)


@app.command("source-on")
def source_on_cmd(name: str, bank: BankFile, by: By = "") -> None:
    """Let a source's entries match again."""
    _switch(name, bank, by, True)


@app.command("copy")
def copy_cmd(
    src: Annotated[str, typer.Argument(help="The bank to copy: a file or postgresql://...")],
    dst: Annotated[str, typer.Argument(help="A new bank: a file or postgresql://... (made there).")],
) -> None:
    """Copy a whole bank to another engine (SQLite <-> PostgreSQL), ids, log and streams included."""
    from realorai.bank.copy import copy
    from realorai.bank.store import BankError

    source, target = _bank(src), _bank(dst, create=True)
    try:
        counts = copy(source, target)
    except BankError as e:
        fail(str(e))
    err.print(", ".join(f"{n} {t}" for t, n in counts.items()))
    out.print(f"copied {_where(src)} to {_where(dst)}: {counts.get('entries', 0)} entries")


def _seconds(text: str | None) -> float | None:
    """'90s', '10m', '1h' or plain seconds."""
    if text is None:
        return None
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        value = float(text[:-1]) * units[text[-1]] if text[-1:] in units else float(text)
    except ValueError:
        fail(f"--every {text!r}: give a duration such as 90s, 10m or 1h")
    if value <= 0:
        fail("--every must be more than 0")
    return value


@app.command("subscribe")
def subscribe_cmd(
    url: Annotated[str, typer.Argument(help="The other realorai server, e.g. https://bank.other-team.example")],
    bank: BankFile,
    name: Annotated[str, typer.Option(help="The subscription's name: the source its entries belong to here.")],
    every: Annotated[str | None, typer.Option(help="Keep pulling this often (90s, 10m, 1h); default: once.")] = None,
    api_key: Annotated[
        str | None, typer.Option(envvar="REALORAI_SUBSCRIBE_KEY", help="The other side's API key.", show_default=False)
    ] = None,  # fmt: skip
    batch: Annotated[int, typer.Option(min=1, help="Rows applied per transaction.")] = 1000,
) -> None:
    """Pull another server's own bank entries and revocations into this bank, from where the last
    pull stopped: banked as confirmed by the subscription (never c2pa-verified: a hash carries no
    credential), in a source of NAME (`bank source-off NAME` stops them matching)."""
    from realorai.bank.store import check_source_name
    from realorai.bank.subscribe import subscribe

    if not name.strip() or not check_source_name(name):
        fail(f"--name {name[:40]!r}: use 1-64 letters, digits, '.', '_' or '-'")
    target = _bank(bank, create=True)
    try:
        subscribe(target, name, url, api_key, _seconds(every), batch, log=lambda m: err.print(shown(m)))
    except (ConnectionError, ValueError) as e:
        fail(str(e), code=3)
    except KeyboardInterrupt:
        err.print("stopped: the next pull resumes from the last checkpoint")
