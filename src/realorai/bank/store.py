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
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from realorai.bank import opening, schema
from realorai.bank.engine import Postgres, Sqlite, is_url, shown_url
from realorai.bank.entry import Entry  # noqa: F401  (re-exported)
from realorai.bank.log import log_head, write_log
from realorai.bank.schema import (  # noqa: F401  (re-exported: the bank's vocabulary lives with the store)
    BUMP,
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


def check_source_name(name: str) -> bool:
    """A source's name: 1-64 letters, digits, '.', '_' or '-' (a letter or digit first)."""
    import re

    return bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", name))


CODE = "CASE WHEN label = 'ai' THEN 1 ELSE 0 END + CASE WHEN evidence = 'c2pa-verified' THEN 2 ELSE 0 END"
# The entries a lookup may match: not revoked, and not from a source switched off.
MATCHING = "revoked_at = '' AND source NOT IN (SELECT name FROM sources WHERE enabled = 0)"


class Bank:
    """A bank: ``Bank(path)`` opens (or creates, with ``create``) and checks an SQLite file;
    ``Bank("postgresql://...")`` the bank in that database (``bank.engine``).

    ``read_only`` (default: when the file or its folder cannot be written) opens it without
    writing anything: queries work, writes are refused by name. ``location`` names the bank in
    messages (a URL without its password); ``key`` tells two banks apart within a process."""

    def __init__(self, path: str | Path, create: bool = False, read_only: bool | None = None) -> None:
        if is_url(path):
            self.path, self.read_only = None, False
            self.db = Postgres.shared(str(path))
            self.location, self.key = shown_url(str(path)), str(path)
            opening.open_postgres(self, create)
            return
        self.path = Path(path)
        self.db = Sqlite(self.path)
        self.location, self.key = str(self.path), str(self.path.resolve())
        if not self.path.exists() and not create:
            raise FileNotFoundError(f"{self.path}: no such bank (`realorai bank add ... --bank FILE` makes one)")
        if self.path.is_dir():
            raise ValueError(f"{self.path}: is a folder, not a bank file")
        if not self.path.parent.is_dir():
            raise FileNotFoundError(f"{self.path}: the folder {self.path.parent} does not exist")
        self.read_only = (not writable(self.path)) if read_only is None else read_only
        try:
            if self.read_only:
                opening.open_read_only(self)
            else:
                opening.open_sqlite(self)
        except self.db.errors as e:
            raise BankError(f"{self.path}: cannot open the bank: {in_words(e)}") from e
        except self.db.damaged as e:  # not SQLite at all, or a damaged file
            raise BankError(f"{self.path}: not a realorai bank ({e})") from e

    @property
    def engine(self) -> str:
        return self.db.name

    @property
    def name(self) -> str:
        """The file's name, or the database's: how a row or a log names the bank."""
        return self.path.name if self.path is not None else self.location.rsplit("/", 1)[-1]

    def _connect(self):
        return self.db.connect()

    def _check(self, con) -> bool:
        return schema.check(con, self.location, self.read_only, self.db)

    def has_table(self, name: str) -> bool:  # a stream's hot path asks this on every request
        with contextlib.closing(self._connect()) as con:
            return bool(self.db.has_table(con, name))

    @contextlib.contextmanager
    def transaction(self, bump: bool = True) -> Iterator:
        """One write: all of it or none of it, other writers waiting meanwhile; it bumps the change
        counter, so every process sees that the bank changed (``bump`` False: a write to tables
        beside the entries, such as a stream's, that changes no match)."""
        if self.read_only:
            raise BankError(f"{self.location}: the bank is read-only here (a read-only file or mount): it can be "
                            "queried, not changed")  # fmt: skip
        try:
            with contextlib.closing(self._connect()) as con:
                self.db.begin_write(con)
                try:
                    yield con
                    if bump:
                        con.execute(BUMP)
                except BaseException:
                    if con.in_transaction:  # SQLite rolls back by itself after some errors (a full disk)
                        con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")
        except self.db.errors as e:
            raise BankError(f"{self.location}: cannot write the bank: {in_words(e)}") from e

    @staticmethod
    def insert(con, entries: list[Entry], thumbnails: list | None = None) -> list[int]:
        """Insert inside an open ``transaction`` (each in the log too); the new ids."""
        thumbnails = thumbnails or [None] * len(entries)
        ids = []
        for e, thumb in zip(entries, thumbnails, strict=True):
            values = {k: v for k, v in e.to_dict().items() if k != "id"}
            cur = con.execute(
                f"INSERT INTO entries ({', '.join(values)}, thumbnail) VALUES ({', '.join('?' * len(values))}, ?) "
                "RETURNING id",
                [*values.values(), thumb],
            )
            ids.append(int(cur.fetchone()[0]))
        added = zip(ids, entries, strict=True)
        write_log(con, [("add", i, e.who, e.source, f"{e.label}, {e.evidence}") for i, e in added])
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
        except self.db.errors as e:
            raise BankError(f"{self.location}: cannot read the bank: {in_words(e)}") from e

    def rows(self, query: str, args=()) -> Iterator[tuple]:
        """A query's rows as the cursor gives them, a page at a time on either engine (an export
        streams through this). Its own connection: the read stays open while the caller consumes it."""
        try:
            with contextlib.closing(self.db.connect_own()) as con:
                self.db.begin_read(con)
                with contextlib.closing(self.db.stream(con, query, args)) as cur:
                    yield from cur
                con.execute("COMMIT")
        except self.db.errors as e:
            raise BankError(f"{self.location}: cannot read the bank: {in_words(e)}") from e

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

    def hashes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, int], int]:
        """(ids, (n, 32) uint8 hashes, codes) of the entries that match (not revoked, their source
        not switched off), the bank state and the last log id they were read at (one read
        transaction: the index, its state and its place in the log agree). A code is 1 for label
        ai, plus 2 for c2pa-verified: what an index needs to answer while the bank cannot be read."""
        try:
            with contextlib.closing(self._connect()) as con:
                self.db.begin_read(con)
                state = self._state(con)
                head = log_head(con)
                query = f"SELECT id, pdq, {CODE} FROM entries WHERE {MATCHING} ORDER BY id"
                with contextlib.closing(self.db.stream(con, query)) as cur:
                    pages = []
                    while rows := cur.fetchmany(100_000):  # decoded a page at a time: memory ~ the arrays
                        pages.append(self._decoded(rows))
                con.execute("COMMIT")
        except self.db.errors as e:
            raise BankError(f"{self.location}: cannot read the bank: {in_words(e)}") from e
        ids, hashes, codes = (np.concatenate(part) for part in zip(*pages, strict=True)) if pages else self._decoded([])
        return ids, hashes, codes, state, head

    def _decoded(self, rows: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids, (n, 32) uint8 hashes, codes) of (id, hex, code) rows; a damaged hash is refused
        naming its entry."""
        joined = "".join(r[1] if isinstance(r[1], str) else "!" for r in rows)
        try:
            if len(joined) != 64 * len(rows):
                raise ValueError
            hashes = np.frombuffer(bytes.fromhex(joined), dtype=np.uint8).reshape(-1, 32)
        except ValueError:
            bad = next(r[0] for r in rows if not (isinstance(r[1], str) and HEX64.fullmatch(r[1])))
            raise BankError(f"{self.location}: entry {bad} has a damaged hash (not 64 hex digits): remove it "
                            f"(`realorai bank remove {bad}`) or restore the bank from a backup") from None  # fmt: skip
        ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
        return ids, hashes, np.fromiter((r[2] for r in rows), np.uint8, len(rows))

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

    def revoke(self, ids: list[int], why: str = "", by: str = "") -> int:
        """Revoke (keep, never match) the entries ``ids`` that still match; how many. ``by``: who, for the log."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self.transaction() as con:
            done = con.execute(f"UPDATE entries SET revoked_at = ?, revoked_why = ? WHERE revoked_at = '' AND id IN "
                               f"({', '.join('?' * len(ids))}) RETURNING id, source",
                               [now, why, *self._ids(ids)]).fetchall()  # fmt: skip
            write_log(con, [("revoke", i, by, source, why) for i, source in done])
            return len(done)

    def remove(self, ids: list[int], by: str = "") -> int:
        """Delete the entries ``ids`` (thumbnail and all); how many. ``by``: who, for the log."""
        with self.transaction() as con:
            done = con.execute(f"DELETE FROM entries WHERE id IN ({', '.join('?' * len(ids))}) RETURNING id, source",
                               self._ids(ids)).fetchall()  # fmt: skip
            write_log(con, [("remove", i, by, source, "") for i, source in done])
            return len(done)

    @staticmethod
    def _state(con) -> tuple[str, int]:
        meta = dict(con.execute("SELECT key, value FROM meta WHERE key IN ('bank_id', 'changes')"))
        return meta.get("bank_id", ""), int(meta.get("changes", 0))

    def version(self) -> tuple[str, int]:
        """(the bank's id, its change counter): changes with every add, revoke, remove or import, in
        O(1) (one primary-key read), so a process knows when to reload its index."""
        try:
            with contextlib.closing(self._connect()) as con:
                return self._state(con)
        except self.db.errors as e:
            raise BankError(f"{self.location}: cannot read the bank: {in_words(e)}") from e

    def matching(self, ids: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids, hashes, codes) as ``hashes`` gives them, of those of ``ids`` that match now (an
        index's update reads its additions through this)."""
        rows = []
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            rows += self.read(f"SELECT id, pdq, {CODE} FROM entries WHERE {MATCHING} AND id IN "
                              f"({', '.join('?' * len(part))})", part)  # fmt: skip
        return self._decoded(rows)

    def active_ids(self) -> set[int]:
        """The ids of the entries that match now (not revoked, not removed, their source on)."""
        return {r[0] for r in self.read(f"SELECT id FROM entries WHERE {MATCHING}")}

    def stats(self) -> dict:
        rows = self.read("SELECT label, evidence, revoked_at != '', count(*) FROM entries GROUP BY 1, 2, 3")
        out: dict = {"entries": sum(r[3] for r in rows), "revoked": sum(r[3] for r in rows if r[2]), "by": {}}
        for label, evidence, revoked, n in rows:
            if not revoked:
                out["by"][f"{label}/{evidence}"] = out["by"].get(f"{label}/{evidence}", 0) + n
        with contextlib.closing(self._connect()) as con:
            out["bytes"] = self.db.size(con)
        bank_id, changes = self.version()
        out["version"] = {"bank_id": bank_id, "changes": changes}
        return out
