"""The bank's log: who added, revoked or removed which entry, when, and what switched a source
off or on. One row per entry changed, written in the same transaction as the change, so it is
both the audit log (``realorai bank log``) and the change log each server's index applies
incrementally (``bank.match``: the rows after the last one it applied).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

ACTIONS = ("add", "revoke", "remove", "source-off", "source-on")


@dataclass(frozen=True)
class LogRow:
    id: int
    at: str
    who: str
    action: str
    entry: int
    source: str
    detail: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def write_log(con, rows: list[tuple[str, int, str, str, str]]) -> None:
    """(action, entry, who, source, detail) rows, inside the caller's transaction."""
    if rows:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        values = [(now, who, action, entry, source, detail[:200]) for action, entry, who, source, detail in rows]
        con.executemany("INSERT INTO log (at, who, action, entry, source, detail) VALUES (?, ?, ?, ?, ?, ?)", values)


HEAD = "SELECT coalesce(max(id), 0) FROM log"


def log_head(con) -> int:
    """The last log row's id (0: none): one primary-key read, inside the caller's transaction."""
    return int(con.execute(HEAD).fetchone()[0])


def read_log(bank, since: int = 0, limit: int = 1000, entry: int | None = None) -> list[LogRow]:
    """Log rows after ``since``, oldest first (``entry``: only that entry's)."""
    where, args = "id > ?", [since]
    if entry is not None:
        where, args = where + " AND entry = ?", [*args, entry]
    rows = bank.read(f"SELECT id, at, who, action, entry, source, detail FROM log WHERE {where} ORDER BY id LIMIT ?",
                     [*args, limit])  # fmt: skip
    return [LogRow(*r) for r in rows]
