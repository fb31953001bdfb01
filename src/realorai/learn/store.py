"""Streams in the bank (its SQLite file or PostgreSQL database): each stream's confirmed examples (features, never the
image), its fitted versions, and what each version said of a confirmation before learning it.

Three tables beside the bank's, created on first use (additive: a bank without them is a bank
with no streams; no version bump):

* ``streams``: name, the feature extractor it learns on, its minimum examples a class;
* ``stream_examples``: one row per confirmation, keyed to its bank entry (so revoking or removing
  the entry takes the example out), with the features as float32 bytes, who confirmed it and
  when, and the drift guard's record: the version that scored it before it was learned, its P(AI)
  and tier then;
* ``stream_versions``: each fit as the bytes of an adapted-head file (``adapted.safetensors``,
  the same format ``realorai adapt`` writes), written in one transaction, so every process that
  reads the bank sees the same latest version.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from realorai.bank import Bank
from realorai.bank.schema import STREAM_TABLES as TABLES  # the stream tables' SQL lives with the bank's

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
MIN_PER_CLASS = 20  # examples a class before a stream fits (the tiers need 20: detector.adapt)


@dataclass(frozen=True)
class Example:
    id: int
    entry: int
    label: str
    features: np.ndarray
    confirmed_by: str
    at: str
    seen_version: int | None
    seen_p: float | None
    seen_tier: str | None


def check_name(name: str) -> str:
    if not NAME.fullmatch(name or ""):
        raise ValueError(f"stream name {name[:40]!r}: use 1-64 letters, digits, '.', '_' or '-' "
                         "(a letter or digit first)")  # fmt: skip
    return name


def ensure(bank: Bank) -> None:
    with bank.transaction(bump=False) as con:
        for statement in TABLES:
            con.execute(bank.db.ddl(statement))


def _has_tables(bank: Bank) -> bool:
    return bank.has_table("streams")


def create(bank: Bank, name: str, features: str, min_per_class: int = MIN_PER_CLASS) -> dict:
    """The stream ``name`` (made with ``features`` if new; an existing one keeps its own)."""
    check_name(name)
    if name in names(bank):  # every confirmation asks: a read, not two write transactions
        return get(bank, name)
    ensure(bank)
    with bank.transaction(bump=False) as con:
        con.execute("INSERT INTO streams VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    [name, features, int(min_per_class), datetime.now(UTC).isoformat(timespec="seconds")])  # fmt: skip
    return get(bank, name)


def get(bank: Bank, name: str) -> dict:
    rows = bank.read("SELECT name, features, min_per_class, created_at FROM streams WHERE name = ?", [name]) \
        if _has_tables(bank) else []  # fmt: skip
    if not rows:
        raise ValueError(f"{bank.location}: no stream {name!r} (`realorai learn add --stream {name} ...` makes one)")
    return dict(zip(("name", "features", "min_per_class", "created_at"), rows[0], strict=True))


def names(bank: Bank) -> list[str]:
    return [r[0] for r in bank.read("SELECT name FROM streams ORDER BY name")] if _has_tables(bank) else []


def add_example(bank: Bank, stream: str, entry: int, label: str, features: np.ndarray, by: str,
                seen: tuple[int, float, str] | None) -> int:  # fmt: skip
    """Record a confirmation; ``seen``: (version, P(AI), tier) of the head that scored it first."""
    version, p, tier = seen if seen is not None else (None, None, None)
    with bank.transaction(bump=False) as con:
        cur = con.execute(
            "INSERT INTO stream_examples (stream, entry, label, features, confirmed_by, at, seen_version, seen_p, "
            "seen_tier) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [stream, entry, label, np.asarray(features, np.float32).tobytes(), by,
             datetime.now(UTC).isoformat(timespec="seconds"), version, p, tier],
        )  # fmt: skip
        return int(cur.fetchone()[0])


def examples(bank: Bank, stream: str) -> list[Example]:
    """The stream's examples whose bank entry still matches (revoked or removed: left out)."""
    rows = bank.read(
        "SELECT x.id, x.entry, x.label, x.features, x.confirmed_by, x.at, x.seen_version, x.seen_p, x.seen_tier "
        f"{_STANDING} ORDER BY x.id", [stream])  # fmt: skip
    return [Example(r[0], r[1], r[2], np.frombuffer(r[3], np.float32).astype(np.float64), *r[4:]) for r in rows]


@dataclass(frozen=True)
class Seen:
    """What a version said of a confirmation before learning it (the guard's record)."""

    label: str
    seen_version: int
    seen_tier: str


def seen_by(bank: Bank, stream: str, version: int, tier: str, last: int) -> list[Seen]:
    """The last ``last`` standing confirmations that ``version`` put in ``tier``, oldest first: one
    indexed read however many examples the stream holds (a server checks this per request)."""
    rows = bank.read(f"SELECT x.label {_STANDING} AND x.seen_version = ? AND x.seen_tier = ? ORDER BY x.id DESC "
                      "LIMIT ?", [stream, version, tier, last])  # fmt: skip
    return [Seen(r[0], version, tier) for r in reversed(rows)]


_STANDING = "FROM stream_examples x JOIN entries e ON e.id = x.entry AND e.revoked_at = '' WHERE x.stream = ?"


def counts(bank: Bank, stream: str) -> dict[str, int]:
    """The stream's standing examples by label, counted in SQL (no features read)."""
    got = dict(bank.read(f"SELECT x.label, count(*) {_STANDING} GROUP BY x.label", [stream]))
    return {"ai": got.get("ai", 0), "real": got.get("real", 0)}


def has_entry(bank: Bank, stream: str, entry: int) -> bool:
    return bool(bank.read("SELECT 1 FROM stream_examples WHERE stream = ? AND entry = ? LIMIT 1", [stream, entry]))


def save_version(bank: Bank, stream: str, version: int, head: bytes, meta: dict) -> int:
    """Write ``version`` (the next one) in one transaction; every process sees it at its next read.
    Two fits at once: the second is refused (its version number is taken), never a mixed state."""
    with bank.transaction(bump=False) as con:
        (top,) = con.execute("SELECT coalesce(max(version), 0) FROM stream_versions WHERE stream = ?",
                             [stream]).fetchone()  # fmt: skip
        if top + 1 != version:
            raise ValueError(f"stream {stream!r}: version {top} was written meanwhile by another fit; fit again")
        now = datetime.now(UTC).isoformat(timespec="seconds")
        row = [stream, version, head, json.dumps(meta), now]
        con.execute("INSERT INTO stream_versions VALUES (?, ?, ?, ?, ?)", row)
        return version


def latest(bank: Bank, stream: str) -> tuple[int, bytes, dict] | None:
    """(version, head file bytes, meta) of the stream's newest version, None before its first fit."""
    if not _has_tables(bank):
        return None
    rows = bank.read("SELECT version, head, meta FROM stream_versions WHERE stream = ? ORDER BY version DESC "
                      "LIMIT 1", [stream])  # fmt: skip
    return (int(rows[0][0]), bytes(rows[0][1]), json.loads(rows[0][2])) if rows else None


def latest_number(bank: Bank, stream: str) -> int:
    """The newest version's number (0: none yet): one indexed read, for a server's per-request check."""
    if not _has_tables(bank):
        return 0
    return int(bank.read("SELECT coalesce(max(version), 0) FROM stream_versions WHERE stream = ?", [stream])[0][0])
