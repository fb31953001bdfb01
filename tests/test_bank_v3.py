"""A bank a team can manage (issue 37, items 2 and 4), on both engines: every change in the log
with who did it, indexes that apply the log incrementally, sources switched off and on."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_bank import picture
from typer.testing import CliRunner

from realorai.bank import Bank, Entry
from realorai.bank.add import add_one
from realorai.bank.match import index_for
from realorai.bank.pdq import hash_image
from realorai.cli.main import app

pytestmark = pytest.mark.usefixtures("bank_engine")  # every test here runs on SQLite and on PostgreSQL

runner = CliRunner()


def _entry(seed: int, source: str = "", label: str = "ai") -> Entry:
    hexes = np.random.default_rng(seed).integers(0, 256, 32, dtype=np.uint8).tobytes().hex()
    return Entry(pdq=hexes, quality=100, sha256=f"{seed:064x}", label=label, evidence="confirmed",
                 confirmed_by="alice", source=source)  # fmt: skip


def test_every_change_is_in_the_log_with_who_did_it(tmp_path):
    bank = Bank(tmp_path / "b.db", create=True)
    ids = bank.add([_entry(1), _entry(2), _entry(3)])
    assert bank.revoke([ids[0]], "a mislabel", by="bob") == 1
    assert bank.remove([ids[1]], by="carol") == 1
    result = runner.invoke(app, ["bank", "log", "--bank", str(tmp_path / "b.db"), "--json"])
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["action"], r["entry"], r["who"]) for r in rows] == [
        ("add", ids[0], "alice"), ("add", ids[1], "alice"), ("add", ids[2], "alice"),
        ("revoke", ids[0], "bob"), ("remove", ids[1], "carol")]  # fmt: skip
    assert rows[3]["detail"] == "a mislabel"
    text = runner.invoke(app, ["bank", "log", "--bank", str(tmp_path / "b.db"), "--entry", str(ids[1])]).stdout
    assert "remove entry" in text and "carol" in text and "alice" in text


def test_an_index_applies_one_change_without_a_rebuild(tmp_path):
    bank = Bank(tmp_path / "b.db", create=True)
    (picture(1)).save(tmp_path / "one.png")
    (picture(2)).save(tmp_path / "two.png")
    add_one(bank, tmp_path / "one.png", None, "ai", "alice")
    index = index_for(bank)
    assert len(index) == 1
    two = add_one(bank, tmp_path / "two.png", None, "real", "bob").entry  # another process could do this
    after = index_for(bank)
    assert after is index and len(after) == 2  # updated in place from the log, not rebuilt
    found = after.search(hash_image(tmp_path / "two.png"))
    assert [m.entry.id for m in found if m.distance <= 31] == [two]
    bank.revoke([two])
    assert index_for(bank) is index
    assert not [m for m in index.search(hash_image(tmp_path / "two.png")) if m.entry.id == two]


def test_a_source_switched_off_stops_matching_and_keeps_its_entries(tmp_path):
    bank = Bank(tmp_path / "b.db", create=True)
    picture(3).save(tmp_path / "p.png")
    h = hash_image(tmp_path / "p.png")
    (theirs,) = bank.add([Entry(pdq=h.hex, quality=h.quality, sha256="a" * 64, label="ai", evidence="confirmed",
                                confirmed_by="subscription teamB", source="teamB")])  # fmt: skip
    assert [m.entry.source for m in index_for(bank).search(h)] == ["teamB"]
    where = ["--bank", str(tmp_path / "b.db")]
    result = runner.invoke(app, ["bank", "source-off", "teamB", *where, "--by", "dana"])
    assert result.exit_code == 0, result.output
    assert not index_for(bank).search(h)  # every server: at its next request (the log says so)
    listed = json.loads(runner.invoke(app, ["bank", "sources", *where, "--json"]).stdout)
    assert {s["name"]: (s["enabled"], s["entries"]) for s in listed} == {"teamB": (False, 1)}
    assert len(bank.entries()) == 1
    assert runner.invoke(app, ["bank", "source-on", "teamB", *where]).exit_code == 0
    assert [m.entry.id for m in index_for(bank).search(h)] == [theirs]
    log = runner.invoke(app, ["bank", "log", *where]).stdout
    assert "source-off source 'teamB'" in log and "dana" in log
    assert runner.invoke(app, ["bank", "source-off", "nobody", *where]).exit_code == 2


def test_every_bank_module_runs_on_both_engines():
    from pathlib import Path

    from conftest import BANK_MODULES

    for name in BANK_MODULES:
        text = (Path(__file__).parent / f"{name}.py").read_text()
        assert 'pytestmark = pytest.mark.usefixtures("bank_engine")' in text, name
