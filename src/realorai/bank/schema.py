"""The bank's schema: its tables, how a file (or database) is recognised as a bank, its versions.

Version 3 (this one): every entry belongs to a named ``source`` ('' : the bank's own
confirmations and credentials; else a subscription or an import by name, see ``sources``, which
can be switched off for matching without deleting anything) and keeps its ``origin`` there (a
subscribed bank's entry id); a ``log`` says who added, revoked or removed which entry, when
(the audit log, and the change log each server's index applies incrementally). Version 2 gave
ids that are never reused (``AUTOINCREMENT``), an index on (pdq, label) that imports check
against, and in ``meta`` the bank's random id and its change counter (bumped by every write:
``store.Bank.transaction``). Version 1 had reused ids and no counter.

The rule: a version only adds (tables, columns with defaults, indexes), and ``upgrade`` brings
any older bank to this one in one transaction, keeping ids and thumbnails; it runs when a
writable bank is opened. A newer version is refused; so is an older one that cannot be written.
"""

from __future__ import annotations

import os
import re
import sqlite3
import uuid
from pathlib import Path

from realorai.bank.pdq import ROUTE

FORMAT, VERSION = "realorai-bank", 3
LABELS = ("ai", "real")
EVIDENCE = ("c2pa-verified", "confirmed")
MAX_ID = 2**63 - 1  # SQLite's largest integer: a larger id names no entry
HEX64 = re.compile(r"[0-9a-f]{64}")

ENTRIES = """
CREATE TABLE IF NOT EXISTS {table} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
    source TEXT NOT NULL DEFAULT '',
    origin TEXT NOT NULL DEFAULT '',
    thumbnail BLOB
)"""
V3 = [
    """CREATE TABLE IF NOT EXISTS log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    who TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL,
    entry INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT ''
)""",
    """CREATE TABLE IF NOT EXISTS sources (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    url TEXT NOT NULL DEFAULT '',
    checkpoint INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS entries_origin ON entries (source, origin)",
]
SCHEMA = [
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ENTRIES.format(table="entries"),
    "CREATE INDEX IF NOT EXISTS entries_sha ON entries (sha256)",
    "CREATE INDEX IF NOT EXISTS entries_pdq ON entries (pdq, label)",  # imports skip what is banked
    *V3,
]
# A stream's tables (realorai.learn.store): beside the bank's, made on a stream's first use.
STREAM_TABLES = [
    """CREATE TABLE IF NOT EXISTS streams (
        name TEXT PRIMARY KEY, features TEXT NOT NULL, min_per_class INTEGER NOT NULL, created_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS stream_examples (
        id INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL, entry INTEGER NOT NULL,
        label TEXT NOT NULL CHECK (label IN ('ai', 'real')), features BLOB NOT NULL,
        confirmed_by TEXT NOT NULL, at TEXT NOT NULL,
        seen_version INTEGER, seen_p REAL, seen_tier TEXT)""",
    "CREATE INDEX IF NOT EXISTS stream_examples_stream ON stream_examples (stream, id)",
    "CREATE INDEX IF NOT EXISTS stream_examples_seen ON stream_examples (stream, seen_version, seen_tier, id)",
    """CREATE TABLE IF NOT EXISTS stream_versions (
        stream TEXT NOT NULL, version INTEGER NOT NULL, head BLOB NOT NULL, meta TEXT NOT NULL,
        created_at TEXT NOT NULL, PRIMARY KEY (stream, version))""",
]

# Every write bumps the change counter in its own transaction (store.Bank.transaction).
BUMP = "UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS TEXT) WHERE key = 'changes'"
SET_META = "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
COLUMNS = ("id", "pdq", "quality", "route", "sha256", "label", "evidence", "signer", "manifest_id", "source_types",
           "confirmed_by", "note", "name", "added_at", "revoked_at", "revoked_why", "source", "origin")  # fmt: skip
V1_COLUMNS = COLUMNS[:-2]  # a version-1 or -2 bank's entries have no source or origin yet


class BankError(ValueError):
    """A bank that cannot be used as asked: the message names the file and what to do."""


def in_words(e: sqlite3.Error) -> str:
    """SQLite's error in words a person can act on (a full disk says so)."""
    text = str(e)
    if "disk is full" in text or "disk I/O error" in text:
        return f"the disk is full or failing ({text}): free space, then try again"
    if "readonly" in text or "read-only" in text:
        return f"the bank is read-only here ({text})"
    return text


def writable(path: Path) -> bool:
    """Whether this process may write the bank (and its -wal and -shm files beside it)."""
    target = path if path.exists() else path.parent
    return os.access(target, os.W_OK) and os.access(path.parent, os.W_OK)


def version_of(con, path) -> int:
    """The bank's schema version (a damaged one is refused naming the file)."""
    raw = dict(con.execute("SELECT key, value FROM meta").fetchall()).get("version", "0")
    try:
        return int(raw)
    except ValueError:
        raise BankError(f"{path}: a damaged bank: its version is {raw[:40]!r}, not a number") from None


def check(con, path, read_only: bool, db) -> bool:
    """Whether the file (or database) is a bank already (False: empty, to be made one); else refused."""
    tables = db.tables(con)
    kind = "an SQLite file" if db.name == "sqlite" else "a PostgreSQL database"
    if "meta" not in tables and "entries" not in tables and (db.name != "sqlite" or not tables):
        return False  # a PostgreSQL database may hold other tables: the bank's are what count
    if "meta" not in tables or "entries" not in tables:
        raise BankError(f"{path}: {kind}, but not a realorai bank (no meta and entries tables)")
    meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    if meta.get("format") != FORMAT:
        raise BankError(f"{path}: {kind}, but not a realorai bank ({str(meta.get('format'))[:40]!r})")
    version = version_of(con, path)
    if version > VERSION:
        raise BankError(f"{path}: a bank of a newer realorai (version {version}, this one reads "
                        f"{VERSION}): upgrade realorai")  # fmt: skip
    if version < VERSION and read_only:
        raise BankError(f"{path}: a version-{version} bank on a read-only file: open it once where it can "
                        f"be written (`realorai bank stats --bank {path.name}`) to upgrade it to "
                        f"version {VERSION}")  # fmt: skip
    if meta.get("route") != ROUTE:
        raise BankError(f"{path}: hashed by route {str(meta.get('route'))[:80]!r}, this realorai hashes by "
                        f"{ROUTE!r}: hashes of two routes do not compare")  # fmt: skip
    return True


def upgrade(con: sqlite3.Connection, path: Path) -> None:
    """An older SQLite bank to this version in one transaction: version 1 -> 2 rebuilds the
    entries table (ids never reused) and gives the bank an id and a change counter; 2 -> 3 adds
    the source and origin columns, the log and the sources tables."""
    con.execute("BEGIN IMMEDIATE")
    try:
        version = version_of(con, path)  # not upgraded by another process meanwhile
        if version < 2:
            columns = ", ".join((*V1_COLUMNS, "thumbnail"))
            con.execute(ENTRIES.format(table="entries_v2"))
            con.execute(f"INSERT INTO entries_v2 ({columns}) SELECT {columns} FROM entries")
            con.execute("DROP TABLE entries")
            con.execute("ALTER TABLE entries_v2 RENAME TO entries")
            con.executemany(SET_META, [("bank_id", uuid.uuid4().hex), ("changes", "1")])
        elif version == 2:
            con.execute("ALTER TABLE entries ADD COLUMN source TEXT NOT NULL DEFAULT ''")
            con.execute("ALTER TABLE entries ADD COLUMN origin TEXT NOT NULL DEFAULT ''")
        if version < VERSION:
            for statement in SCHEMA:
                con.execute(statement)
            con.executemany(SET_META, [("version", str(VERSION))])
            con.execute(BUMP)
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def create(con, db) -> None:
    """Make an empty file (or database) a bank, inside the caller's transaction."""
    for statement in SCHEMA:
        con.execute(db.ddl(statement))
    con.executemany(SET_META,
                    [("format", FORMAT), ("version", str(VERSION)), ("route", ROUTE),
                     ("bank_id", uuid.uuid4().hex), ("changes", "0")])  # fmt: skip
