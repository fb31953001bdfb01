"""Exchanges between teams: a bank's own changes since a checkpoint, as CSV, and applying a pulled
feed to a subscriber's bank.

The feed (``GET /v1/bank/export?since=N``) lists, in log order, the exporter's *own* entries
(source ''; what it subscribed to itself is never passed on, so two teams subscribed to each
other do not echo) added, revoked or removed after log row ``N``: one CSV row each, with its log
id (``log``, the checkpoint to resume from) and its entry id there (``id``); an ``add`` row holds
the columns of docs/BANK.md's export. Its first line names the checkpoint it was cut at.

A subscriber banks every pulled ``add`` as ``confirmed`` by the subscription (a hash carries no
credential: never ``c2pa-verified``, whatever the row says) in a source of the subscription's
name, keeps the exporter's id as the entry's ``origin``, and applies ``revoke`` and ``remove``
rows by that origin (a removal becomes a revocation here: the subscriber keeps its audit trail).
Each batch and the checkpoint after it are one transaction, so a pull killed at any point
resumes exactly where the last committed batch ended.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from realorai.bank.exchange import COLUMNS, _neutral, _records, _row, csv_lines
from realorai.bank.log import HEAD, write_log
from realorai.bank.pdq import ROUTE
from realorai.bank.sources import advance, ensure
from realorai.bank.store import Bank, Entry

FEED_LINE = "# realorai bank changes, format 1"
FEED_COLUMNS = ("log", "change", "id", *COLUMNS)
PAGE = 1000


def feed_lines(bank: Bank, since: int) -> Iterator[str]:
    """The feed after log row ``since``, line by line, up to the log's head when it started."""
    head = int(bank.read(HEAD)[0][0])  # rows written after it wait for the next pull
    yield f"{FEED_LINE}, route {ROUTE}, checkpoint {head}\n"
    yield ",".join(FEED_COLUMNS) + "\n"
    yield from csv_lines(_feed_rows(bank, since, head))


def _feed_rows(bank: Bank, since: int, head: int) -> Iterator[list[str]]:
    """The feed's rows after log row ``since`` up to ``head``, read a page at a time."""
    stored = "e.pdq, e.quality, e.label, e.evidence, e.signer, e.manifest_id, e.source_types, e.confirmed_by, " \
             "e.note, e.added_at, e.route, e.sha256"  # fmt: skip
    at = since
    while True:
        rows = bank.read(f"SELECT l.id, l.action, l.entry, e.id, {stored} FROM log l LEFT JOIN entries e "
                         "ON e.id = l.entry WHERE l.id > ? AND l.id <= ? AND l.source = '' AND l.action IN "
                         "('add', 'revoke', 'remove') ORDER BY l.id LIMIT ?", [at, head, PAGE])  # fmt: skip
        for log_id, action, entry, present, *values in rows:
            if action == "add" and present is None:
                continue  # added, then removed before this pull: its remove row follows
            fields = ["pdq", *map(str, values)] if action == "add" else [""] * len(COLUMNS)
            yield [log_id, action, entry, *(_neutral(v) for v in fields)]
        if len(rows) < PAGE:
            return
        at = rows[-1][0]


def checkpoint_of(first_line: str) -> int | None:
    """The checkpoint a feed was cut at, from its first line (None: not a feed)."""
    if not first_line.startswith(FEED_LINE):
        return None
    try:
        return int(first_line.rsplit("checkpoint", 1)[1].strip())
    except (IndexError, ValueError):
        return None


def apply_feed(bank: Bank, name: str, url: str, lines: Iterable[str], batch: int = PAGE) -> dict:
    """Apply a pulled feed to subscription ``name``, one transaction a batch (its checkpoint with
    it); {"added", "revoked", "skipped", "bad", "checkpoint"}."""
    done = {"added": 0, "revoked": 0, "skipped": 0, "bad": 0, "checkpoint": None}
    header, pending = None, []
    with bank.transaction(bump=False) as con:
        ensure(con, name, "subscription", url)
    for number, row in _records(lines):
        if isinstance(row, Exception):
            done["bad"] += 1
            continue
        if header is None:
            header = [c.strip().lower() for c in row]
            continue
        pending.append((number, dict(zip(header, row, strict=False))))
        if len(pending) >= batch:
            _apply(bank, name, url, pending, done)
    _apply(bank, name, url, pending, done)
    return done


def _apply(bank: Bank, name: str, url: str, pending: list, done: dict) -> None:
    if not pending:
        return
    now = datetime.now(UTC).isoformat(timespec="seconds")
    last = 0
    with bank.transaction() as con:
        for _, row in pending:
            log_id, change, origin = row.get("log", ""), row.get("change", ""), row.get("id", "")
            if not (log_id.isdigit() and origin.isdigit()):
                done["bad"] += 1
                continue
            last = max(last, int(log_id))
            if change in ("revoke", "remove"):
                done["revoked"] += _revoke(con, name, origin, f"{change}d at the source", now)
                continue
            fields, _ = _row({k: v for k, v in row.items() if k in COLUMNS}, None)
            if change != "add" or fields is None:
                done["bad"] += 1
                continue
            if con.execute("SELECT 1 FROM entries WHERE source = ? AND origin = ? LIMIT 1", [name, origin]).fetchone():
                done["skipped"] += 1  # pulled before (a pull resumed after a crash): never twice
                continue
            Bank.insert(con, [_entry(fields, name, url, origin)])
            done["added"] += 1
        if last:
            advance(con, name, last)
    done["checkpoint"] = max(done["checkpoint"] or 0, last)
    pending.clear()


def _revoke(con, name: str, origin: str, why: str, now: str) -> int:
    """Revoke this subscription's entry of ``origin`` (and log it); how many (0 or 1)."""
    hit = con.execute("UPDATE entries SET revoked_at = ?, revoked_why = ? WHERE source = ? AND origin = ? "
                      "AND revoked_at = '' RETURNING id", [now, why, name, origin]).fetchall()  # fmt: skip
    write_log(con, [("revoke", i, f"subscription {name}", name, why) for (i,) in hit])
    return len(hit)


def _entry(fields: dict, name: str, url: str, origin: str) -> Entry:
    """A pulled row as this bank's entry: confirmed by the subscription, whatever it said there."""
    stated = fields["evidence"] or "unstated"
    return Entry(pdq=fields["signal"], quality=fields["quality"], sha256=fields["sha256"], label=fields["label"],
                 evidence="confirmed", confirmed_by=f"subscription {name}", source=name, origin=origin,
                 note=f"from {url}; stated evidence there: {stated}"[:1000],
                 route=(fields.get("route") or ROUTE).strip()[:80])  # fmt: skip
