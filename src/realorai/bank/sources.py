"""A bank's named sources: where entries came from (a subscription, an import by name; '' is
the bank's own), each switched on or off for matching without deleting its entries. Switching
writes a log row (``source-off`` / ``source-on``) in the same transaction: every server rebuilds
its index at its next request (a switch is rare, and touches many entries at once)."""

from __future__ import annotations

from datetime import UTC, datetime

from realorai.bank.log import write_log

KINDS = ("subscription", "import", "own")


def ensure(con, name: str, kind: str, url: str = "") -> None:
    """The source ``name`` exists (inside the caller's transaction); an existing one keeps its state."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    con.execute("INSERT INTO sources (name, kind, enabled, url, checkpoint, created_at) VALUES (?, ?, 1, ?, 0, ?) "
                "ON CONFLICT (name) DO NOTHING", [name, kind, url, now])  # fmt: skip


def checkpoint(bank, name: str) -> int:
    """The log id of the other bank a subscription has applied up to (0: nothing yet)."""
    rows = bank.read("SELECT checkpoint FROM sources WHERE name = ?", [name])
    return int(rows[0][0]) if rows else 0


def advance(con, name: str, to: int) -> None:
    """Move a subscription's checkpoint forward (never back), inside the caller's transaction."""
    con.execute("UPDATE sources SET checkpoint = ? WHERE name = ? AND checkpoint < ?", [to, name, to])


def listed(bank) -> list[dict]:
    """Every source with its entries that match and those revoked ('' : the bank's own)."""
    counts = {r[0]: (r[1], r[2]) for r in bank.read(
        "SELECT source, sum(CASE WHEN revoked_at = '' THEN 1 ELSE 0 END), sum(CASE WHEN revoked_at = '' THEN 0 ELSE 1 "
        "END) FROM entries GROUP BY source")}  # fmt: skip
    rows = bank.read("SELECT name, kind, enabled, url, checkpoint, created_at FROM sources ORDER BY name")
    out = [{"name": r[0], "kind": r[1], "enabled": bool(r[2]), "url": r[3], "checkpoint": int(r[4]), "since": r[5]}
           for r in rows]  # fmt: skip
    known = {s["name"] for s in out}
    out += [{"name": n, "kind": "own" if n == "" else "import", "enabled": True, "url": "", "checkpoint": 0,
             "since": ""} for n in counts if n not in known]  # fmt: skip
    for s in out:
        active, revoked = counts.get(s["name"], (0, 0))
        s["entries"], s["revoked"] = int(active or 0), int(revoked or 0)
    return sorted(out, key=lambda s: s["name"])


def switch(bank, name: str, enabled: bool, by: str = "") -> None:
    """Turn the source ``name`` on or off for matching (its entries stay)."""
    if not bank.read("SELECT 1 FROM entries WHERE source = ? LIMIT 1", [name]) and not bank.read(
            "SELECT 1 FROM sources WHERE name = ?", [name]):  # fmt: skip
        raise ValueError(f"no source {name!r} in this bank (`realorai bank sources` lists them)")
    with bank.transaction() as con:
        ensure(con, name, "own" if name == "" else "import")
        con.execute("UPDATE sources SET enabled = ? WHERE name = ?", [int(enabled), name])
        write_log(con, [("source-on" if enabled else "source-off", 0, by, name, "")])
