"""Export and import: banks shared as PDQ hashes with tags, one CSV row each (docs/BANK.md).

The format is plain CSV with a header, the way ThreatExchange exchanges signals (a signal type,
the hash as hex, tags); lines starting with ``#`` are comments (the export's first says what
wrote it and by which hashing route)::

    signal_type,signal,quality,label,evidence,signer,manifest_id,source_types,confirmed_by,note,added_at,route,sha256
    pdq,f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,100,ai,c2pa-verified,...

Only ``signal`` (64 hex digits) and ``label`` (``ai``/``real``, or the importer's ``--label``)
are required. No thumbnail and no file name or path leaves the banking machine.

A hash carries no credential to check, so an imported row keeps ``c2pa-verified`` only when the
file it came from is at hand (``verify_with``: same sha256) and its credential verifies here now;
every other row is banked as ``confirmed`` by the importer, its stated evidence kept in the note.
A malformed row is reported by its line number and skipped; the rest are imported, in one
transaction.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from realorai.atomic import write_text
from realorai.bank.pdq import MIN_QUALITY, ROUTE
from realorai.bank.store import EVIDENCE, LABELS, Bank, Entry

FORMAT_LINE = "# realorai bank export, format 1"
COLUMNS = ("signal_type", "signal", "quality", "label", "evidence", "signer", "manifest_id", "source_types",
           "confirmed_by", "note", "added_at", "route", "sha256")  # fmt: skip
HEX64 = re.compile(r"[0-9a-f]{64}")
MAX_FIELD = 4096  # characters: a longer field is a bad line, never a memory problem
FOREIGN_ROUTE = "pdq/unstated"


def export_rows(bank: Bank, include_revoked: bool = False) -> str:
    """The bank as CSV text (revoked entries left out unless asked for)."""
    buf = io.StringIO()
    entries = bank.entries(include_revoked=include_revoked)
    buf.write(f"{FORMAT_LINE}, route {entries[0].route if entries else ROUTE}\n")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for e in entries:
        d = e.to_dict()
        writer.writerow(["pdq", e.pdq, *(d[c] for c in COLUMNS[2:])])
    return buf.getvalue()


def export(bank: Bank, path: Path, include_revoked: bool = False) -> int:
    text = export_rows(bank, include_revoked)
    write_text(path, text)
    return text.count("\npdq,")


@dataclass
class Imported:
    banked: list[int] = field(default_factory=list)
    verified: int = 0  # rows whose c2pa-verified evidence was re-verified from the file
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line, why): duplicates, featureless
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line, why): malformed


def _lines(text: str):
    """(line number, CSV row) for each non-comment line, numbered as in the file."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            try:
                yield number, next(csv.reader([line]))
            except csv.Error as e:
                yield number, e


def _row(fields: dict, label: str | None) -> tuple[dict | None, str]:
    """The checked fields of one row, or None and what is wrong with it."""
    if fields.get("signal_type", "pdq").strip().lower() not in ("pdq", ""):
        return None, f"signal type {fields['signal_type'][:40]!r} is not pdq"
    signal = fields.get("signal", "").strip().lower()
    if not HEX64.fullmatch(signal):
        return None, "the signal is not a PDQ hash (64 hex digits)"
    got = fields.get("label", "").strip().lower() or (label or "")
    if got not in LABELS:
        return None, f"label {got[:40]!r} is not ai or real" if got else "no label (give --label ai|real)"
    quality = fields.get("quality", "").strip() or "100"
    if not quality.isdigit() or int(quality) > 100:
        return None, f"quality {quality[:40]!r} is not a whole number from 0 to 100"
    evidence = fields.get("evidence", "").strip()
    if evidence and evidence not in EVIDENCE:
        return None, f"evidence {evidence[:40]!r} is not one of {', '.join(EVIDENCE)}"
    if any(len(v) > MAX_FIELD for v in fields.values()):
        return None, f"a field longer than {MAX_FIELD} characters"
    return {**fields, "signal": signal, "label": got, "quality": int(quality), "evidence": evidence}, ""


def _entry(f: dict, by: str, source: str, verified: dict | None) -> Entry:
    stated = f["evidence"] or "unstated"
    who = f.get("signer") if stated == "c2pa-verified" else f.get("confirmed_by")
    common = {"pdq": f["signal"], "quality": f["quality"], "sha256": (f.get("sha256") or "").strip()[:64],
              "label": f["label"], "route": (f.get("route") or FOREIGN_ROUTE).strip()[:80]}  # fmt: skip
    if verified is not None:
        return Entry(evidence="c2pa-verified", signer=verified["signer"], manifest_id=verified["manifest_id"],
                     source_types=f.get("source_types", ""), note=f"imported from {source}", **common)  # fmt: skip
    note = f"imported from {source}; stated evidence: {stated}" + (f" ({who})" if who else "")
    note += f"; {f['note']}" if f.get("note") else ""
    return Entry(evidence="confirmed", confirmed_by=by, note=note[:1000], **common)


def import_text(bank: Bank, text: str, by: str, source: str, *, label: str | None = None,
                verify_with: dict[str, object] | None = None, trust=None) -> Imported:  # fmt: skip
    """Bank every good row of an export; ``verify_with``: {sha256: file} of originals at hand,
    whose credentials are re-verified to keep a row ``c2pa-verified``."""
    from realorai.provenance.c2pa_evidence import credential

    done = Imported()
    header: list[str] | None = None
    present = {(e.pdq, e.label) for e in bank.entries(include_revoked=False)}
    entries = []
    for number, row in _lines(text):
        if isinstance(row, Exception):
            done.bad.append((number, f"not a CSV line ({row})"))
            continue
        if header is None and "signal" in [c.strip().lower() for c in row]:
            header = [c.strip().lower() for c in row]
            continue
        names = header or ["signal", "label"]  # a header-less file: hash and label, as hash,label
        if len(row) > len(names):
            done.bad.append((number, f"{len(row)} fields, the header names {len(names)}"))
            continue
        fields, why = _row(dict(zip(names, row, strict=False)), label)
        if fields is None:
            done.bad.append((number, why))
            continue
        if fields["quality"] < MIN_QUALITY:
            done.skipped.append((number, f"featureless picture (PDQ quality {fields['quality']} < {MIN_QUALITY})"))
            continue
        if (fields["signal"], fields["label"]) in present:
            done.skipped.append((number, "already banked with that label"))
            continue
        original = (verify_with or {}).get(fields.get("sha256", "").strip())
        stated = original is not None and fields["evidence"] == "c2pa-verified"
        verified = credential(original, trust) if stated else None
        verified = verified if verified and verified["label"] == fields["label"] else None
        done.verified += verified is not None
        entries.append(_entry(fields, by, source, verified))
        present.add((fields["signal"], fields["label"]))
    done.banked = bank.add(entries) if entries else []
    return done
