"""Export and import: banks shared as PDQ hashes with tags, one CSV row each (docs/BANK.md).

The format is plain CSV with a header, the way ThreatExchange exchanges signals (a signal type,
the hash as hex, tags); lines starting with ``#`` are comments (the export's first says what
wrote it and by which hashing route)::

    signal_type,signal,quality,label,evidence,signer,manifest_id,source_types,confirmed_by,note,added_at,route,sha256
    pdq,f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,100,ai,c2pa-verified,...

Only ``signal`` (64 hex digits) and ``label`` (``ai``/``real``, or the importer's ``--label``)
are required. No thumbnail and no file name or path leaves the banking machine.

Fields round-trip byte for byte: the file is written and read as CSV (a note with a newline, a
quote or a comma is one quoted field, never a second row), and a field that a spreadsheet would
run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR first) is written behind an apostrophe that
the importer takes off again (``_neutral`` / ``_restored``).

A hash carries no credential to check, so an imported row keeps ``c2pa-verified`` only when the
file it came from is at hand (``verify_with``: same sha256), its credential verifies here now and
is about a whole picture (``bank.add``), and the row's hash is that file's own (within the match
radius, by the bank's route); the entry then holds the file's own hash and the credential's own
source types, never the CSV's. Every other row is banked as ``confirmed`` by the importer, its
stated evidence kept in the note. A malformed row is reported by its line number and skipped;
the rest are imported, in one transaction, streamed: memory stays bounded whatever the file's size.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from realorai.atomic import atomic_path
from realorai.bank.pdq import MIN_QUALITY, ROUTE
from realorai.bank.store import COLUMNS as STORED
from realorai.bank.store import EVIDENCE, HEX64, LABELS, Bank, Entry

FORMAT_LINE = "# realorai bank export, format 1"
COLUMNS = ("signal_type", "signal", "quality", "label", "evidence", "signer", "manifest_id", "source_types",
           "confirmed_by", "note", "added_at", "route", "sha256")  # fmt: skip
QUALITY = re.compile(r"[0-9]{1,3}")  # ASCII digits only: str.isdigit() takes "²"
MAX_FIELD = 4096  # characters: a longer field is a bad line, never a memory problem
FOREIGN_ROUTE = "pdq/unstated"
BATCH = 1000  # rows checked against the bank and inserted at once
KEEP_REASONS = 1000  # bad and skipped lines kept with their reasons (the rest are counted)
_FORMULA = re.compile(r"'*[=+\-@\t\r]")


def _neutral(value: str) -> str:
    """A field a spreadsheet would run as a formula, behind an apostrophe (and one that already
    starts with apostrophes before such a character gets one more, so ``_restored`` is exact)."""
    return "'" + value if _FORMULA.match(value) else value


def _restored(value: str) -> str:
    return value[1:] if value.startswith("'") and _FORMULA.match(value[1:]) else value


def csv_lines(rows: Iterable[list]) -> Iterator[str]:
    """Each row as one CSV line, written as it comes (an export and a feed stream through this)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for row in rows:
        writer.writerow(row)
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()


def _export_lines(bank: Bank, include_revoked: bool) -> Iterator[str]:
    """The export, line by line, straight from the bank (no list of every entry in memory)."""
    yield f"{FORMAT_LINE}, route {ROUTE}\n"
    yield ",".join(COLUMNS) + "\n"
    where = "" if include_revoked else " WHERE revoked_at = ''"

    def entry_rows() -> Iterator[list[str]]:
        for row in bank.rows(f"SELECT {', '.join(STORED)} FROM entries{where} ORDER BY id"):
            d = dict(zip(STORED, row, strict=True))
            d["signal"] = d["pdq"]
            yield ["pdq", *(_neutral(str(d[c])) for c in COLUMNS[1:])]

    yield from csv_lines(entry_rows())


def export_rows(bank: Bank, include_revoked: bool = False) -> str:
    """The bank as CSV text (revoked entries left out unless asked for)."""
    return "".join(_export_lines(bank, include_revoked))


def export(bank: Bank, path: Path, include_revoked: bool = False) -> int:
    """Write the export atomically; how many entries it holds."""
    n = -2  # the comment and the header
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
        for line in _export_lines(bank, include_revoked):
            f.write(line)
            n += 1
    return n


@dataclass
class Imported:
    banked: list[int] = field(default_factory=list)  # the first KEEP_REASONS ids (``counts``: all)
    verified: int = 0  # rows whose c2pa-verified evidence was re-verified from the file
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line, why): duplicates, featureless
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line, why): malformed
    counts: dict = field(default_factory=lambda: {"banked": 0, "skipped": 0, "bad": 0})  # all, kept or not

    def note(self, kind: str, number: int, why: str) -> None:
        self.counts[kind] += 1
        kept = getattr(self, kind)
        if len(kept) < KEEP_REASONS:
            kept.append((number, why))


def _records(lines: Iterable[str]) -> Iterator[tuple[int, list[str] | Exception]]:
    """(first line number, CSV row) for each record that is not a comment: parsed as CSV, so a
    quoted field may hold newlines. A record that is not CSV is reported and reading goes on."""
    counted = _Counted(lines)
    reader = csv.reader(counted)
    while True:
        start = counted.n + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield start, e
            continue
        if row and not (len(row) == 1 and not row[0].strip()) and not row[0].lstrip().startswith("#"):
            yield start, row


class _Counted:
    """Lines with a count of those read (the CSV reader's own count stops at an error)."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.lines, self.n = iter(lines), 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.n += 1
        return line


def _row(fields: dict, label: str | None) -> tuple[dict | None, str]:
    """The checked fields of one row, or None and what is wrong with it."""
    if any(len(v) > MAX_FIELD for v in fields.values()):
        return None, f"a field longer than {MAX_FIELD} characters"
    fields = {k: _restored(v) for k, v in fields.items()}
    if fields.get("signal_type", "pdq").strip().lower() not in ("pdq", ""):
        return None, f"signal type {fields['signal_type'][:40]!r} is not pdq"
    signal = fields.get("signal", "").strip().lower()
    if not HEX64.fullmatch(signal):
        return None, "the signal is not a PDQ hash (64 hex digits)"
    got = fields.get("label", "").strip().lower() or (label or "")
    if got not in LABELS:
        return None, f"label {got[:40]!r} is not ai or real" if got else "no label (give --label ai|real)"
    quality = fields.get("quality", "").strip() or "100"
    if not QUALITY.fullmatch(quality) or int(quality) > 100:
        return None, f"quality {quality[:40]!r} is not a whole number from 0 to 100"
    evidence = fields.get("evidence", "").strip()
    if evidence and evidence not in EVIDENCE:
        return None, f"evidence {evidence[:40]!r} is not one of {', '.join(EVIDENCE)}"
    sha = fields.get("sha256", "").strip().lower()
    if sha and not HEX64.fullmatch(sha):
        return None, f"sha256 {sha[:40]!r} is not 64 hex digits"
    return {**fields, "signal": signal, "label": got, "quality": int(quality), "evidence": evidence, "sha256": sha}, ""


def _entry(f: dict, by: str, source: str, verified: dict | None) -> Entry:
    stated = f["evidence"] or "unstated"
    who = f.get("signer") if stated == "c2pa-verified" else f.get("confirmed_by")
    common = {"quality": f["quality"], "sha256": f["sha256"], "label": f["label"]}
    if verified is not None:  # the verified file's own hash and the credential's own words
        return Entry(pdq=verified["pdq"], evidence="c2pa-verified", signer=verified["signer"],
                     manifest_id=verified["manifest_id"], source_types=json.dumps(verified["source_types"]),
                     note=f"imported from {source}", **{**common, "quality": verified["quality"]})  # fmt: skip
    note = f"imported from {source}; stated evidence: {stated}" + (f" ({who})" if who else "")
    note += f"; {f['note']}" if f.get("note") else ""
    return Entry(pdq=f["signal"], evidence="confirmed", confirmed_by=by, note=note[:1000],
                 route=(f.get("route") or FOREIGN_ROUTE).strip()[:80], **common)  # fmt: skip


def reverify(f: dict, original, trust) -> dict | None:
    """The original's credential, when it verifies now, is about a whole picture with the row's
    label, and the row's hash is the original's own (within the match radius): else None."""
    import numpy as np

    from realorai.bank.match import MATCH
    from realorai.bank.pdq import distances, hash_image
    from realorai.imaging import ImageLoadError
    from realorai.provenance.c2pa_evidence import credential

    cred = credential(original, trust)
    if cred is None or cred["edit"] or cred["label"] != f["label"]:
        return None
    try:
        own = hash_image(original)
    except (ImageLoadError, OSError):
        return None
    row = np.frombuffer(bytes.fromhex(f["signal"]), dtype=np.uint8)
    if distances(own.hashes[:1], row[None])[0, 0] > MATCH:
        return None  # the row's hash is of another picture than the file that verified
    return {**cred, "pdq": own.hex, "quality": own.quality}


def import_text(bank: Bank, text: str | TextIO, by: str, source: str, *, label: str | None = None,
                verify_with: dict[str, object] | None = None, trust=None, as_source: str = "") -> Imported:  # fmt: skip
    """Bank every good row of an export (text, or an open text file read as it streams);
    ``verify_with``: {sha256: file} of originals at hand, whose credentials are re-verified to
    keep a row ``c2pa-verified``; ``as_source``: the named source its entries belong to ('' : own)."""
    lines = io.StringIO(text, newline="") if isinstance(text, str) else text
    done = Imported()
    header: list[str] | None = None
    batch: list[tuple[int, Entry]] = []
    with bank.transaction() as con:
        for number, row in _records(lines):
            if isinstance(row, Exception):
                done.note("bad", number, f"not a CSV line ({row})")
                continue
            if header is None and "signal" in [c.strip().lower() for c in row]:
                header = [c.strip().lower() for c in row]
                continue
            names = header or ["signal", "label"]  # a header-less file: hash and label, as hash,label
            if len(row) > len(names):
                done.note("bad", number, f"{len(row)} fields, the header names {len(names)}")
                continue
            fields, why = _row(dict(zip(names, row, strict=False)), label)
            if fields is None:
                done.note("bad", number, why)
                continue
            if fields["quality"] < MIN_QUALITY:
                done.note("skipped", number, f"featureless picture (PDQ quality {fields['quality']} < {MIN_QUALITY})")
                continue
            original = (verify_with or {}).get(fields["sha256"]) if fields["sha256"] else None
            verified = reverify(fields, original, trust) if original and fields["evidence"] == "c2pa-verified" else None
            done.verified += verified is not None
            batch.append((number, dataclasses.replace(_entry(fields, by, source, verified), source=as_source)))
            if len(batch) >= BATCH:
                _flush(con, batch, done)
        _flush(con, batch, done)
    return done


def _flush(con, batch: list[tuple[int, Entry]], done: Imported) -> None:
    """Insert a batch, skipping what the bank (this import's earlier rows included) already has."""
    if not batch:
        return
    hashes = sorted({e.pdq for _, e in batch})
    present = set(con.execute(f"SELECT pdq, label FROM entries WHERE revoked_at = '' AND pdq IN "
                              f"({', '.join('?' * len(hashes))})", hashes).fetchall())  # fmt: skip
    new = []
    for number, e in batch:
        if (e.pdq, e.label) in present:
            done.note("skipped", number, "already banked with that label")
            continue
        present.add((e.pdq, e.label))
        new.append(e)
    ids = Bank.insert(con, new)
    done.counts["banked"] += len(ids)
    if len(done.banked) < KEEP_REASONS:  # the first ids, for a caller's look: memory stays constant
        done.banked += ids[: KEEP_REASONS - len(done.banked)]
    batch.clear()
