"""Which bank state a scan's rows were matched against, and which of them a changed bank makes
stale on ``--resume`` (``inference.batch``; the rule is in docs/BANK.md, "Scans and a changing
bank"): rows that matched an entry since revoked or removed, and rows of another bank file."""

from __future__ import annotations

import json

from realorai.bank import Bank


def bank_state(bank) -> list | None:
    """[bank id, change counter] of the scan's bank now (None: no bank)."""
    if bank is None:
        return None
    return list(Bank(bank).version()) if not isinstance(bank, Bank) else list(bank.version())


def matched_entries(row: dict) -> set[int]:
    """The bank entries a row's findings name."""
    ids = set()
    for f in row.get("findings") or []:
        if f.get("source") != "bank":
            continue
        value = f.get("value")
        try:
            value = json.loads(value) if isinstance(value, str) else value
            ids.add(int(value["entry"]))
        except (ValueError, TypeError, KeyError):
            continue
    return ids


def stale_matches(latest: dict[str, dict], done: set, bank, state: list | None) -> set:
    """Keys of committed rows scored against another bank state whose verdict may have changed:
    a matched entry since revoked or removed, or another bank file altogether."""
    if bank is None or state is None:
        return set()
    active: set[int] | None = None
    stale = set()
    for key in done:
        recorded = latest[key].get("bank")
        if recorded == state:
            continue
        if not recorded or recorded[0] != state[0]:
            stale.add(key)  # another bank (or a row from before banks were recorded)
            continue
        ids = matched_entries(latest[key]["row"])
        if ids:
            active = active if active is not None else (Bank(bank) if not isinstance(bank, Bank) else bank).active_ids()
            if not ids <= active:
                stale.add(key)
    return stale
