"""``realorai bank copy SRC DST``: a whole bank from one engine to another (an SQLite file to a
PostgreSQL database and back), losing nothing: every table row for row with its ids (entries,
thumbnails, the log, sources, streams and their versions, the bank's id and change counter) and
each id sequence where it stood, so an id never names two entries on either side. The
destination must be a new bank (no entries, no log); a copy is one transaction on it.
"""

from __future__ import annotations

import contextlib

from realorai.bank.store import Bank, BankError

TABLES = ("meta", "entries", "log", "sources", "streams", "stream_examples", "stream_versions")
SEQUENCES = ("entries", "log", "stream_examples")  # tables whose ids come from a sequence
BATCH = 1000


def copy(src: Bank, dst: Bank, progress=None) -> dict[str, int]:
    """Copy ``src`` into the new bank ``dst``; rows copied per table."""
    have = {t for t in TABLES if src.has_table(t)}
    if "streams" in have:
        from realorai.bank.schema import STREAM_TABLES

        with dst.transaction(bump=False) as con:  # the stream tables, made the destination's way
            for statement in STREAM_TABLES:
                con.execute(dst.db.ddl(statement))
    if dst.read("SELECT count(*) FROM entries")[0][0] or dst.read("SELECT count(*) FROM log")[0][0]:
        raise BankError(f"{dst.location}: not a new bank (it has entries or a log): copy into a new one")
    counts = {}
    with dst.transaction(bump=False) as out, contextlib.closing(src.db.connect_own()) as con:
        src.db.begin_read(con)
        for table in (t for t in TABLES if t in have):
            with contextlib.closing(src.db.stream(con, f"SELECT * FROM {table}")) as cur:  # a page at a time
                counts[table] = _copy_table(cur, out, table, progress)
        for table in (t for t in SEQUENCES if t in have):
            dst.db.set_next_id(out, table, src.db.next_id(con, table))
        con.execute("COMMIT")
    return counts


def _copy_table(cur, out, table: str, progress) -> int:
    columns = [d[0] for d in cur.description]
    if table == "meta":
        out.execute("DELETE FROM meta")  # the source's format, version, id and counter replace the new bank's
    insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    n = 0
    while rows := cur.fetchmany(BATCH):
        out.executemany(insert, [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows])
        n += len(rows)
        if progress is not None:
            progress(table, len(rows))
    return n
