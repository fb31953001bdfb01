"""The bank: one SQLite file of known images, one row each, with the evidence that makes it known.

A row holds the picture's PDQ hash (and quality, and the hashing route), the file's sha256, its
label (``ai`` / ``real``), and its evidence: ``c2pa-verified`` (signer, manifest id, declared
source types: only ever from a credential verified by realorai itself) or ``confirmed`` (by whom,
a note). Entries can be revoked (kept, never matched) or removed. Only the file's name is stored,
never the folder it was banked from.

Every write is one transaction (``BEGIN IMMEDIATE``) in WAL mode, so a bank is never half-written
and two processes may add and query at once (SQLite serialises the writers; a reader sees the
last committed state). A file that is not a realorai bank, or one from a newer version, is refused
by name.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from realorai.bank.pdq import ROUTE

FORMAT, VERSION = "realorai-bank", 1
LABELS = ("ai", "real")
EVIDENCE = ("c2pa-verified", "confirmed")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY,
    pdq TEXT NOT NULL,
    quality INTEGER NOT NULL,
    route TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    label TEXT NOT NULL CHECK (label IN ('ai', 'real')),
    evidence TEXT NOT NULL CHECK (evidence IN ('c2pa-verified', 'confirmed')),
    signer TEXT NOT NULL DEFAULT '',
    manifest_id TEXT NOT NULL DEFAULT '',
    source_types TEXT NOT NULL DEFAULT '',
    confirmed_by TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL DEFAULT '',
    added_at TEXT NOT NULL,
    revoked_at TEXT NOT NULL DEFAULT '',
    revoked_why TEXT NOT NULL DEFAULT '',
    thumbnail BLOB
);
CREATE INDEX IF NOT EXISTS entries_sha ON entries (sha256);
"""
COLUMNS = ("id", "pdq", "quality", "route", "sha256", "label", "evidence", "signer", "manifest_id", "source_types",
           "confirmed_by", "note", "name", "added_at", "revoked_at", "revoked_why")  # fmt: skip


@dataclass(frozen=True)
class Entry:
    """One banked image (``id`` 0 until it is stored)."""

    pdq: str
    quality: int
    sha256: str
    label: str
    evidence: str
    signer: str = ""
    manifest_id: str = ""
    source_types: str = ""
    confirmed_by: str = ""
    note: str = ""
    name: str = ""
    added_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    revoked_at: str = ""
    revoked_why: str = ""
    route: str = ROUTE
    id: int = 0

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            raise ValueError(f"label must be ai or real, not {self.label!r}")
        if self.evidence not in EVIDENCE:
            raise ValueError(f"evidence must be {' or '.join(EVIDENCE)}, not {self.evidence!r}")
        if self.evidence == "confirmed" and not self.confirmed_by.strip():
            raise ValueError("a confirmation names who confirmed it (--by NAME)")

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def who(self) -> str:
        return self.signer if self.evidence == "c2pa-verified" else self.confirmed_by


class Bank:
    """A bank file; ``Bank(path)`` opens (or creates, with ``create``) and checks it."""

    def __init__(self, path: str | Path, create: bool = False) -> None:
        self.path = Path(path)
        if not self.path.exists() and not create:
            raise FileNotFoundError(f"{self.path}: no such bank (`realorai bank add ... --bank FILE` makes one)")
        if self.path.is_dir():
            raise ValueError(f"{self.path}: is a folder, not a bank file")
        try:
            self._init()
        except sqlite3.DatabaseError as e:  # not SQLite at all, or a damaged file
            raise ValueError(f"{self.path}: not a realorai bank ({e})") from e

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        con.execute("PRAGMA busy_timeout = 60000")
        return con

    def _init(self) -> None:
        if not self.path.parent.is_dir():
            raise FileNotFoundError(f"{self.path}: the folder {self.path.parent} does not exist")
        with contextlib.closing(self._connect()) as con:
            if self._check(con):
                return
            con.execute("PRAGMA journal_mode = WAL")
            con.execute("BEGIN IMMEDIATE")
            if self._check(con):  # another process made it meanwhile
                con.execute("COMMIT")
                return
            for statement in filter(str.strip, SCHEMA.split(";")):
                con.execute(statement)
            con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                            [("format", FORMAT), ("version", str(VERSION)), ("route", ROUTE)])  # fmt: skip
            con.execute("COMMIT")

    def _check(self, con: sqlite3.Connection) -> bool:
        """Whether the file is a bank already (False: an empty file, to be made one); else refused."""
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            return False
        if "meta" not in tables or "entries" not in tables:
            raise ValueError(f"{self.path}: an SQLite file, but not a realorai bank (no meta and entries tables)")
        meta = dict(con.execute("SELECT key, value FROM meta"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"{self.path}: an SQLite file, but not a realorai bank ({meta.get('format')!r})")
        if int(meta.get("version", 0)) > VERSION:
            raise ValueError(f"{self.path}: a bank of a newer realorai (version {meta['version']}, this one reads "
                             f"{VERSION}): upgrade realorai")  # fmt: skip
        if meta.get("route") != ROUTE:
            raise ValueError(f"{self.path}: hashed by route {meta.get('route')!r}, this realorai hashes by {ROUTE!r}: "
                             "hashes of two routes do not compare")  # fmt: skip
        return True

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write: all of it or none of it, other writers waiting meanwhile."""
        with contextlib.closing(self._connect()) as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def add(self, entries: list[Entry], thumbnails: list[bytes | None] | None = None) -> list[int]:
        thumbnails = thumbnails or [None] * len(entries)
        ids = []
        with self.transaction() as con:
            for e, thumb in zip(entries, thumbnails, strict=True):
                values = {k: v for k, v in e.to_dict().items() if k != "id"}
                cur = con.execute(
                    f"INSERT INTO entries ({', '.join(values)}, thumbnail) VALUES ({', '.join('?' * len(values))}, ?)",
                    [*values.values(), thumb],
                )
                ids.append(int(cur.lastrowid))
        return ids

    def entries(self, ids: list[int] | None = None, include_revoked: bool = True) -> list[Entry]:
        query = f"SELECT {', '.join(COLUMNS)} FROM entries"
        where, args = [], []
        if ids is not None:
            where.append(f"id IN ({', '.join('?' * len(ids))})")
            args += ids
        if not include_revoked:
            where.append("revoked_at = ''")
        query += (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
        with contextlib.closing(self._connect()) as con:
            return [Entry(**dict(zip(COLUMNS, row, strict=True))) for row in con.execute(query, args)]

    def by_sha256(self, sha256: str) -> list[Entry]:
        with contextlib.closing(self._connect()) as con:
            rows = con.execute(f"SELECT {', '.join(COLUMNS)} FROM entries WHERE sha256 = ?", [sha256]).fetchall()
        return [Entry(**dict(zip(COLUMNS, r, strict=True))) for r in rows]

    def hashes(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, (n, 32) uint8 hashes) of the entries that match: not revoked."""
        with contextlib.closing(self._connect()) as con:
            rows = con.execute("SELECT id, pdq FROM entries WHERE revoked_at = '' ORDER BY id").fetchall()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        hashes = np.frombuffer(bytes.fromhex("".join(r[1] for r in rows)), dtype=np.uint8).reshape(-1, 32)
        return ids, hashes

    def thumbnail(self, entry_id: int) -> bytes | None:
        """The entry's stored 128-px JPEG (None: no such entry, or an imported hash without one)."""
        with contextlib.closing(self._connect()) as con:
            row = con.execute("SELECT thumbnail FROM entries WHERE id = ?", [entry_id]).fetchone()
        return bytes(row[0]) if row and row[0] else None

    def revoke(self, ids: list[int], why: str = "") -> int:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self.transaction() as con:
            cur = con.execute(f"UPDATE entries SET revoked_at = ?, revoked_why = ? WHERE revoked_at = '' AND id IN "
                              f"({', '.join('?' * len(ids))})", [now, why, *ids])  # fmt: skip
            return cur.rowcount

    def remove(self, ids: list[int]) -> int:
        with self.transaction() as con:
            return con.execute(f"DELETE FROM entries WHERE id IN ({', '.join('?' * len(ids))})", ids).rowcount

    def version(self) -> int:
        """Changes whenever an entry is added, revoked or removed (the match index is rebuilt then)."""
        with contextlib.closing(self._connect()) as con:
            n, top, revoked = con.execute("SELECT count(*), coalesce(max(id), 0), "
                                          "sum(revoked_at != '') FROM entries").fetchone()  # fmt: skip
        return hash((n, top, revoked or 0))

    def stats(self) -> dict:
        with contextlib.closing(self._connect()) as con:
            rows = con.execute("SELECT label, evidence, revoked_at != '', count(*) FROM entries "
                               "GROUP BY 1, 2, 3").fetchall()  # fmt: skip
        out: dict = {"entries": sum(r[3] for r in rows), "revoked": sum(r[3] for r in rows if r[2]), "by": {}}
        for label, evidence, revoked, n in rows:
            if not revoked:
                out["by"][f"{label}/{evidence}"] = out["by"].get(f"{label}/{evidence}", 0) + n
        out["bytes"] = self.path.stat().st_size
        return out
