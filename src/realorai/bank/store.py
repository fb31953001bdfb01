"""The bank: one SQLite file of known images, one row each, with the evidence that makes it known.

A row holds the picture's PDQ hash (and quality, and the hashing route), the file's sha256, its
label (``ai`` / ``real``), and its evidence: ``c2pa-verified`` (signer, manifest id, declared
source types: only ever from a credential verified by realorai itself) or ``confirmed`` (by whom,
a note). Entries can be revoked (kept, never matched) or removed. Only the file's name is stored,
never the folder it was banked from.

Every write is one transaction (``BEGIN IMMEDIATE``) in WAL mode, so a bank is never half-written
and two processes may add and query at once (SQLite serialises the writers; a reader sees the
last committed state). Every write also bumps the bank's change counter in the same transaction,
so "has the bank changed?" is one primary-key read, whatever its size; ids are never reused
(AUTOINCREMENT), so an id always names the same entry. A file that is not a realorai bank, or one
from a newer version, is refused by name; a bank on a read-only file or mount is opened read-only.

The schema, its versions and how a version-1 bank is upgraded: ``bank.schema``.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from realorai.bank import schema
from realorai.bank.pdq import ROUTE
from realorai.bank.schema import (  # noqa: F401  (re-exported: the bank's vocabulary lives with the store)
    COLUMNS,
    EVIDENCE,
    HEX64,
    LABELS,
    MAX_ID,
    VERSION,
    BankError,
    in_words,
    writable,
)


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
    """A bank file; ``Bank(path)`` opens (or creates, with ``create``) and checks it.

    ``read_only`` (default: when the file or its folder cannot be written) opens it without
    writing anything: queries work, writes are refused by name."""

    def __init__(self, path: str | Path, create: bool = False, read_only: bool | None = None) -> None:
        self.path = Path(path)
        if not self.path.exists() and not create:
            raise FileNotFoundError(f"{self.path}: no such bank (`realorai bank add ... --bank FILE` makes one)")
        if self.path.is_dir():
            raise ValueError(f"{self.path}: is a folder, not a bank file")
        if not self.path.parent.is_dir():
            raise FileNotFoundError(f"{self.path}: the folder {self.path.parent} does not exist")
        self.read_only = (not writable(self.path)) if read_only is None else read_only
        self._uri = None
        try:
            if self.read_only:
                self._open_read_only()
            else:
                self._init()
        except sqlite3.OperationalError as e:
            raise BankError(f"{self.path}: cannot open the bank: {in_words(e)}") from e
        except sqlite3.DatabaseError as e:  # not SQLite at all, or a damaged file
            raise BankError(f"{self.path}: not a realorai bank ({e})") from e

    def _connect(self) -> sqlite3.Connection:
        if self._uri is not None:
            return sqlite3.connect(self._uri, uri=True, timeout=60, isolation_level=None)
        con = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        con.execute("PRAGMA busy_timeout = 60000")
        return con

    def _open_read_only(self) -> None:
        """``mode=ro`` sees other writers' commits; where SQLite cannot even make the WAL's shared
        memory (a read-only mount), ``immutable=1`` reads the file as it is (nothing can change it)."""
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no such bank, and its folder is read-only")
        base = "file:" + self.path.resolve().as_posix().replace("?", "%3f").replace("#", "%23")
        last: sqlite3.Error | None = None
        for mode in ("?mode=ro", "?immutable=1"):
            self._uri = base + mode
            try:
                with contextlib.closing(self._connect()) as con:
                    if not self._check(con):
                        raise BankError(f"{self.path}: an empty file, not a bank (read-only: it cannot be made one)")
                return
            except sqlite3.OperationalError as e:
                last = e
        raise last  # type: ignore[misc]

    def _init(self) -> None:
        with contextlib.closing(self._connect()) as con:
            if self._check(con):
                if schema.version_of(con, self.path) < VERSION:
                    schema.upgrade(con, self.path)
                return
            con.execute("PRAGMA journal_mode = WAL")
            con.execute("BEGIN IMMEDIATE")
            if not self._check(con):  # else another process made it meanwhile
                schema.create(con)
            con.execute("COMMIT")

    def _check(self, con: sqlite3.Connection) -> bool:
        return schema.check(con, self.path, self.read_only)

    @contextlib.contextmanager
    def transaction(self, bump: bool = True) -> Iterator[sqlite3.Connection]:
        """One write: all of it or none of it, other writers waiting meanwhile; it bumps the change
        counter, so every process sees that the bank changed (``bump`` False: a write to tables
        beside the entries, such as a stream's, that changes no match)."""
        if self.read_only:
            raise BankError(f"{self.path}: the bank is read-only here (a read-only file or mount): it can be "
                            "queried, not changed")  # fmt: skip
        try:
            with contextlib.closing(self._connect()) as con:
                con.execute("BEGIN IMMEDIATE")
                try:
                    yield con
                    if bump:
                        con.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'changes'")
                except BaseException:
                    if con.in_transaction:  # SQLite rolls back by itself after some errors (a full disk)
                        con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")
        except sqlite3.OperationalError as e:
            raise BankError(f"{self.path}: cannot write the bank: {in_words(e)}") from e

    @staticmethod
    def insert(con: sqlite3.Connection, entries: list[Entry], thumbnails: list | None = None) -> list[int]:
        """Insert inside an open ``transaction``; the new ids."""
        thumbnails = thumbnails or [None] * len(entries)
        ids = []
        for e, thumb in zip(entries, thumbnails, strict=True):
            values = {k: v for k, v in e.to_dict().items() if k != "id"}
            cur = con.execute(
                f"INSERT INTO entries ({', '.join(values)}, thumbnail) VALUES ({', '.join('?' * len(values))}, ?)",
                [*values.values(), thumb],
            )
            ids.append(int(cur.lastrowid))
        return ids

    def add(self, entries: list[Entry], thumbnails: list[bytes | None] | None = None) -> list[int]:
        if not entries:
            return []
        with self.transaction() as con:
            return self.insert(con, entries, thumbnails)

    def read(self, query: str, args=()) -> list[tuple]:
        """A query's rows, read in one connection (an unreadable bank is a ``BankError``)."""
        try:
            with contextlib.closing(self._connect()) as con:
                return con.execute(query, args).fetchall()
        except sqlite3.OperationalError as e:
            raise BankError(f"{self.path}: cannot read the bank: {in_words(e)}") from e

    def rows(self, query: str, args=()) -> Iterator[tuple]:
        """A query's rows as the cursor gives them (an export streams through this)."""
        try:
            with contextlib.closing(self._connect()) as con:
                yield from con.execute(query, args)
        except sqlite3.OperationalError as e:
            raise BankError(f"{self.path}: cannot read the bank: {in_words(e)}") from e

    def entries(self, ids: list[int] | None = None, include_revoked: bool = True) -> list[Entry]:
        query = f"SELECT {', '.join(COLUMNS)} FROM entries"
        where, args = [], []
        if ids is not None:
            ids = [i for i in ids if 0 < i <= MAX_ID]
            where.append(f"id IN ({', '.join('?' * len(ids))})")
            args += ids
        if not include_revoked:
            where.append("revoked_at = ''")
        query += (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
        return [Entry(**dict(zip(COLUMNS, row, strict=True))) for row in self.read(query, args)]

    def by_sha256(self, sha256: str) -> list[Entry]:
        rows = self.read(f"SELECT {', '.join(COLUMNS)} FROM entries WHERE sha256 = ?", [sha256])
        return [Entry(**dict(zip(COLUMNS, r, strict=True))) for r in rows]

    def hashes(self) -> tuple[np.ndarray, np.ndarray, tuple[str, int]]:
        """(ids, (n, 32) uint8 hashes) of the entries that match (not revoked), and the bank state
        they were read at (one read transaction: the index and its state agree)."""
        try:
            with contextlib.closing(self._connect()) as con:
                con.execute("BEGIN")
                state = self._state(con)
                rows = con.execute("SELECT id, pdq FROM entries WHERE revoked_at = '' ORDER BY id").fetchall()
                con.execute("COMMIT")
        except sqlite3.OperationalError as e:
            raise BankError(f"{self.path}: cannot read the bank: {in_words(e)}") from e
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        joined = "".join(r[1] for r in rows)
        try:
            if len(joined) != 64 * len(rows):
                raise ValueError
            raw = bytes.fromhex(joined)
        except (ValueError, TypeError):
            bad = next(r[0] for r in rows if not (isinstance(r[1], str) and HEX64.fullmatch(r[1])))
            raise BankError(f"{self.path}: entry {bad} has a damaged hash (not 64 hex digits): remove it "
                            f"(`realorai bank remove {bad}`) or restore the bank from a backup") from None  # fmt: skip
        return ids, np.frombuffer(raw, dtype=np.uint8).reshape(-1, 32), state

    def thumbnail(self, entry_id: int) -> bytes | None:
        """The entry's stored 128-px JPEG (None: no such entry, or an imported hash without one)."""
        if not 0 < entry_id <= MAX_ID:
            return None
        rows = self.read("SELECT thumbnail FROM entries WHERE id = ?", [entry_id])
        return bytes(rows[0][0]) if rows and rows[0][0] else None

    @staticmethod
    def _ids(ids: list[int]) -> list[int]:
        bad = [i for i in ids if not 0 < i <= MAX_ID]
        if bad:
            raise BankError(f"no bank entry has id {bad[0]} (ids are whole numbers from 1 to {MAX_ID})")
        return ids

    def revoke(self, ids: list[int], why: str = "") -> int:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self.transaction() as con:
            cur = con.execute(f"UPDATE entries SET revoked_at = ?, revoked_why = ? WHERE revoked_at = '' AND id IN "
                              f"({', '.join('?' * len(ids))})", [now, why, *self._ids(ids)])  # fmt: skip
            return cur.rowcount

    def remove(self, ids: list[int]) -> int:
        with self.transaction() as con:
            return con.execute(f"DELETE FROM entries WHERE id IN ({', '.join('?' * len(ids))})",
                               self._ids(ids)).rowcount  # fmt: skip

    @staticmethod
    def _state(con: sqlite3.Connection) -> tuple[str, int]:
        meta = dict(con.execute("SELECT key, value FROM meta WHERE key IN ('bank_id', 'changes')"))
        return meta.get("bank_id", ""), int(meta.get("changes", 0))

    def version(self) -> tuple[str, int]:
        """(the bank's id, its change counter): changes with every add, revoke, remove or import, in
        O(1) (one primary-key read), so a process knows when to reload its index."""
        try:
            with contextlib.closing(self._connect()) as con:
                return self._state(con)
        except sqlite3.OperationalError as e:
            raise BankError(f"{self.path}: cannot read the bank: {in_words(e)}") from e

    def active_ids(self) -> set[int]:
        """The ids of the entries that match now (not revoked, not removed)."""
        return {r[0] for r in self.read("SELECT id FROM entries WHERE revoked_at = ''")}

    def stats(self) -> dict:
        rows = self.read("SELECT label, evidence, revoked_at != '', count(*) FROM entries GROUP BY 1, 2, 3")
        out: dict = {"entries": sum(r[3] for r in rows), "revoked": sum(r[3] for r in rows if r[2]), "by": {}}
        for label, evidence, revoked, n in rows:
            if not revoked:
                out["by"][f"{label}/{evidence}"] = out["by"].get(f"{label}/{evidence}", 0) + n
        out["bytes"] = self.path.stat().st_size
        bank_id, changes = self.version()
        out["version"] = {"bank_id": bank_id, "changes": changes}
        return out
