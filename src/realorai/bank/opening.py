"""How a bank is opened: an SQLite file (made a bank if empty, upgraded if older, read-only
where it cannot be written) or a PostgreSQL database (its tables made on ``create``)."""

from __future__ import annotations

import contextlib

from realorai.bank import schema
from realorai.bank.schema import VERSION, BankError, in_words


def open_sqlite(bank) -> None:
    """A writable file: made a bank if empty (WAL mode), upgraded if an older version."""
    with contextlib.closing(bank._connect()) as con:
        if bank._check(con):
            if schema.version_of(con, bank.path) < VERSION:
                schema.upgrade(con, bank.path)
            return
        con.execute("PRAGMA journal_mode = WAL")
        con.execute("BEGIN IMMEDIATE")
        if not bank._check(con):  # else another process made it meanwhile
            schema.create(con, bank.db)
        con.execute("COMMIT")


def open_read_only(bank) -> None:
    """``mode=ro`` sees other writers' commits; where SQLite cannot even make the WAL's shared
    memory (a read-only mount), ``immutable=1`` reads the file as it is (nothing can change it)."""
    if not bank.path.exists():
        raise FileNotFoundError(f"{bank.path}: no such bank, and its folder is read-only")
    base = "file:" + bank.path.resolve().as_posix().replace("?", "%3f").replace("#", "%23")
    last: Exception | None = None
    for mode in ("?mode=ro", "?immutable=1"):
        bank.db.uri = base + mode
        try:
            with contextlib.closing(bank._connect()) as con:
                if not bank._check(con):
                    raise BankError(f"{bank.path}: an empty file, not a bank (read-only: it cannot be made one)")
            return
        except bank.db.errors as e:
            last = e
    raise last  # type: ignore[misc]


def open_postgres(bank, create: bool) -> None:
    """The bank in ``bank.db``'s database (its tables made there with ``create``)."""
    try:
        with contextlib.closing(bank._connect()) as con:
            if bank._check(con):
                return
            if not create:
                raise FileNotFoundError(f"{bank.location}: no bank in this database (`realorai bank copy` or "
                                        "`realorai bank add ... --bank URL` makes one)")  # fmt: skip
            bank.db.begin_write(con)
            try:
                if not bank._check(con):
                    schema.create(con, bank.db)
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
    except bank.db.errors as e:
        raise BankError(f"{bank.location}: cannot reach the bank's database: {in_words(e)}") from e
