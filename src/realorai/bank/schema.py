"""The bank file's schema: its tables, how a file is recognised as a bank, and its versions.

Version 2 (this one): entries with ids that are never reused (``AUTOINCREMENT``), an index on
(pdq, label) that imports check against, and in ``meta`` the bank's random id and its change
counter (bumped by every write: ``store.Bank.transaction``). Version 1 had reused ids and no
counter; ``upgrade`` moves a version-1 bank to 2 in one transaction, keeping ids and thumbnails.
A newer version is refused; so is a version-1 bank that cannot be written (it cannot be upgraded).
"""

from __future__ import annotations

import os
import re
import sqlite3
import uuid
from pathlib import Path

from realorai.bank.pdq import ROUTE

FORMAT, VERSION = "realorai-bank", 2
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
    thumbnail BLOB
)"""
SCHEMA = [
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ENTRIES.format(table="entries"),
    "CREATE INDEX IF NOT EXISTS entries_sha ON entries (sha256)",
    "CREATE INDEX IF NOT EXISTS entries_pdq ON entries (pdq, label)",  # imports skip what is banked
]
COLUMNS = ("id", "pdq", "quality", "route", "sha256", "label", "evidence", "signer", "manifest_id", "source_types",
           "confirmed_by", "note", "name", "added_at", "revoked_at", "revoked_why")  # fmt: skip


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


def version_of(con: sqlite3.Connection, path: Path) -> int:
    """The bank's schema version (a damaged one is refused naming the file)."""
    raw = dict(con.execute("SELECT key, value FROM meta")).get("version", "0")
    try:
        return int(raw)
    except ValueError:
        raise BankError(f"{path}: a damaged bank: its version is {raw[:40]!r}, not a number") from None


def check(con: sqlite3.Connection, path: Path, read_only: bool) -> bool:
    """Whether the file is a bank already (False: an empty file, to be made one); else refused."""
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables:
        return False
    if "meta" not in tables or "entries" not in tables:
        raise BankError(f"{path}: an SQLite file, but not a realorai bank (no meta and entries tables)")
    meta = dict(con.execute("SELECT key, value FROM meta"))
    if meta.get("format") != FORMAT:
        raise BankError(f"{path}: an SQLite file, but not a realorai bank ({str(meta.get('format'))[:40]!r})")
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
    """Version 1 -> 2 in one transaction: ids that are never reused, a change counter, an id."""
    con.execute("BEGIN IMMEDIATE")
    try:
        if version_of(con, path) < VERSION:  # not upgraded by another process meanwhile
            columns = ", ".join((*COLUMNS, "thumbnail"))
            con.execute(ENTRIES.format(table="entries_v2"))
            con.execute(f"INSERT INTO entries_v2 ({columns}) SELECT {columns} FROM entries")
            con.execute("DROP TABLE entries")
            con.execute("ALTER TABLE entries_v2 RENAME TO entries")
            for statement in SCHEMA:
                con.execute(statement)
            upgraded = [("version", str(VERSION)), ("bank_id", uuid.uuid4().hex), ("changes", "1")]
            con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", upgraded)
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def create(con: sqlite3.Connection) -> None:
    """Make an empty file a bank, inside the caller's transaction."""
    for statement in SCHEMA:
        con.execute(statement)
    con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                    [("format", FORMAT), ("version", str(VERSION)), ("route", ROUTE),
                     ("bank_id", uuid.uuid4().hex), ("changes", "0")])  # fmt: skip
