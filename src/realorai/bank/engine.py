"""Where a bank lives: an SQLite file (the default) or a PostgreSQL database (a URL), behind one
small interface, so the bank, its streams and its exchanges run the same SQL on both.

The SQL is written once, in what both engines accept (``?`` placeholders, ``ON CONFLICT``,
``RETURNING``, ``CAST``); PostgreSQL's connection turns ``?`` into ``%s``, and the tables' SQLite
words into its own (``ddl``). Writers are serialised on both, so a bank has one order of writes:
SQLite by ``BEGIN IMMEDIATE``, PostgreSQL by a transaction-scoped advisory lock taken first.
PostgreSQL connections are kept, one per thread (connecting costs milliseconds, and a server asks
"has the bank changed?" on every request); a broken one is dropped and made again.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

SCHEMES = ("postgresql://", "postgres://")
LOCK = 7_261_992_615  # the advisory lock every writer of a PostgreSQL bank takes (an arbitrary constant)


def is_url(location: object) -> bool:
    return str(location).startswith(SCHEMES)


def shown_url(url: str) -> str:
    """The URL without its password: safe in messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class Sqlite:
    """A bank file: a fresh connection per operation (cheap for SQLite), WAL mode."""

    name = "sqlite"
    errors: tuple = (sqlite3.OperationalError,)
    damaged: tuple = (sqlite3.DatabaseError,)

    def __init__(self, path: Path) -> None:
        self.path, self.uri = path, None

    def connect_own(self) -> sqlite3.Connection:
        return self.connect()  # every SQLite connection is its own

    def connect(self) -> sqlite3.Connection:
        if self.uri is not None:
            return sqlite3.connect(self.uri, uri=True, timeout=60, isolation_level=None)
        con = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        con.execute("PRAGMA busy_timeout = 60000")
        return con

    @staticmethod
    def begin_write(con) -> None:
        con.execute("BEGIN IMMEDIATE")

    @staticmethod
    def begin_read(con) -> None:
        """A read transaction: one consistent state for several queries (WAL: writers go on)."""
        con.execute("BEGIN")

    @staticmethod
    def tables(con) -> set[str]:
        return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    @staticmethod
    def has_table(con, name: str) -> bool:
        return bool(con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name]).fetchone())

    @staticmethod
    def stream(con, sql: str, args=()):
        """A cursor that reads rows as they are fetched (SQLite's always does)."""
        return con.execute(sql, args)

    @staticmethod
    def ddl(statement: str) -> str:
        return statement

    def size(self, con) -> int:
        return self.path.stat().st_size

    @staticmethod
    def next_id(con, table: str) -> int:
        """The last id the table's sequence gave (AUTOINCREMENT's: never reused, even if deleted)."""
        row = con.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", [table]).fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def set_next_id(con, table: str, last: int) -> None:
        con.execute("DELETE FROM sqlite_sequence WHERE name = ?", [table])
        con.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", [table, last])


class PgConnection:
    """A psycopg connection that speaks the bank's SQL (``?`` placeholders) in autocommit mode,
    transactions opened and closed by the caller's BEGIN / COMMIT, as SQLite's are."""

    def __init__(self, raw, owner: Postgres | None) -> None:
        self.raw, self.owner = raw, owner  # owner None: a connection of its own, closed when done

    def execute(self, sql: str, args=()):
        return self.raw.execute(pg_sql(sql), list(args) if args else None)

    def executemany(self, sql: str, rows) -> None:
        with self.raw.cursor() as cur:
            cur.executemany(pg_sql(sql), [list(r) for r in rows])

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self.raw.info.transaction_status != TransactionStatus.IDLE

    def close(self) -> None:
        """Back to this thread's slot (kept open), unless it broke or is mid-transaction."""
        if self.owner is None or self.raw.closed or self.raw.broken or self.in_transaction:
            with contextlib.suppress(Exception):
                self.raw.close()
            if self.owner is not None:
                self.owner.local.con = None


def pg_sql(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


_DDL = [(re.compile(r"INTEGER PRIMARY KEY AUTOINCREMENT"), "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
        (re.compile(r"\bBLOB\b"), "BYTEA"), (re.compile(r"\bINTEGER\b"), "BIGINT"),
        (re.compile(r"\bREAL\b"), "DOUBLE PRECISION")]  # fmt: skip


class Postgres:
    """A bank in a PostgreSQL database: its tables in the URL's database (and search path).
    ``Postgres.shared(url)``: one per URL in a process, so its per-thread connections are kept
    across the many ``Bank`` objects a server opens (one a request)."""

    name = "postgresql"
    _shared: dict[str, Postgres] = {}
    _lock = threading.Lock()

    @classmethod
    def shared(cls, url: str) -> Postgres:
        with cls._lock:
            if url not in cls._shared:
                cls._shared[url] = cls(url)
            return cls._shared[url]

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError as e:
            raise ImportError("a PostgreSQL bank needs psycopg: pip install 'realorai[postgres]'") from e
        self.url, self.local = url, threading.local()
        self.errors = (psycopg.OperationalError, psycopg.errors.QueryCanceled)
        self.damaged = (psycopg.DatabaseError,)

    def connect_own(self) -> PgConnection:
        """A connection of its own, closed when done: for a read that stays open while its rows are
        consumed (a generator), so that this thread's kept connection stays free meanwhile."""
        import psycopg

        return PgConnection(psycopg.connect(self.url, autocommit=True, connect_timeout=10), None)

    def connect(self) -> PgConnection:
        import psycopg

        con = getattr(self.local, "con", None)
        if con is None or con.raw.closed or con.raw.broken:
            con = PgConnection(psycopg.connect(self.url, autocommit=True, connect_timeout=10), self)
            self.local.con = con
        return con

    @staticmethod
    def begin_write(con) -> None:
        con.execute("BEGIN")
        con.execute("SELECT pg_advisory_xact_lock(?)", [LOCK])

    @staticmethod
    def begin_read(con) -> None:
        con.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")

    @staticmethod
    def tables(con) -> set[str]:
        rows = con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
        return {r[0] for r in rows.fetchall()}

    @staticmethod
    def has_table(con, name: str) -> bool:
        """One catalogue lookup by name in the search path (information_schema is far slower)."""
        return con.execute("SELECT to_regclass(?) IS NOT NULL", [name]).fetchone()[0]

    @staticmethod
    def stream(con, sql: str, args=()):
        """A server-side cursor (inside the caller's transaction): rows come in pages, so 10^7 of
        them never sit in this process at once (psycopg's plain cursor holds the whole result)."""
        cur = con.raw.cursor(name="realorai_stream")
        cur.itersize = 10_000
        cur.execute(pg_sql(sql), list(args) if args else None)
        return cur

    @staticmethod
    def ddl(statement: str) -> str:
        for pattern, word in _DDL:
            statement = pattern.sub(word, statement)
        return statement

    @staticmethod
    def size(con) -> int:
        return int(con.execute("SELECT pg_database_size(current_database())").fetchone()[0])

    @staticmethod
    def next_id(con, table: str) -> int:
        row = con.execute(f"SELECT last_value, is_called FROM {_sequence(con, table)}").fetchone()
        return int(row[0]) if row[1] else 0

    @staticmethod
    def set_next_id(con, table: str, last: int) -> None:
        if last > 0:
            con.execute("SELECT setval(?, ?, true)", [_sequence(con, table), last])


def _sequence(con, table: str) -> str:
    return con.execute("SELECT pg_get_serial_sequence(?, 'id')", [table]).fetchone()[0]
