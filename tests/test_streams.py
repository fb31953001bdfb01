"""Streams that learn from their reviewers' confirmations (issue 35, items 2-5): confirmations
become examples (features, who, when), a fit writes a version every process sees, the drift guard
suspends a tier that stops holding and a refit lifts it, revoked confirmations leave, and every
front end routes by stream. The shipped detector's features (no CLIP weights needed)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import located, make_dataset, smooth_image
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from realorai.bank import Bank
from realorai.cli.main import app
from realorai.inference.detector import Detector
from realorai.learn import loop, store

pytestmark = pytest.mark.usefixtures("bank_engine")  # every test here runs on SQLite and on PostgreSQL

runner = CliRunner()


@pytest.fixture
def desk(tmp_path):
    """A bank with stream 'desk': 24 + 24 confirmed toy examples, fitted once (version 1)."""
    data = make_dataset(tmp_path / "examples", per_class=24, size=96)
    result = runner.invoke(app, ["learn", "add", str(data), "--stream", "desk", "--bank", str(tmp_path / "b.db"),
                                 "--by", "alice", "-q"])  # fmt: skip
    assert result.exit_code == 0 and "48 of 48 examples learned" in result.output, result.output
    result = runner.invoke(app, ["learn", "fit", "--stream", "desk", "--bank", str(tmp_path / "b.db")])
    assert result.exit_code == 0 and "version 1" in result.output, result.output
    return tmp_path / "b.db"


def test_confirmations_become_examples_and_a_fit_routes_every_front_end(desk, tmp_path):
    bank = Bank(desk)
    examples = store.examples(bank, "desk")
    assert len(examples) == 48 and {e.confirmed_by for e in examples} == {"alice"}
    assert all(e.seen_version is None for e in examples)  # nothing to score them with before version 1
    assert len(bank.entries()) == 48  # each is a bank entry too (hash, thumbnail), never its pixels
    smooth_image(9000, 96).save(tmp_path / "new-ai.png")
    result = runner.invoke(app, ["predict", str(tmp_path / "new-ai.png"), "--bank", str(desk), "--stream", "desk",
                                 "--json"])  # fmt: skip
    row = json.loads(result.stdout)
    assert row["verdict"] == "likely_ai" and "stream 'desk' (version 1)" in row["reliability"]
    python = Detector.default().predict(tmp_path / "new-ai.png", bank=desk, stream="desk")
    assert python["p_ai"] == pytest.approx(row["p_ai"], abs=1e-6)
    status = json.loads(runner.invoke(app, ["learn", "status", "--bank", str(desk), "--json"]).stdout)
    assert status[0]["version"] == 1 and status[0]["examples"] == {"ai": 24, "real": 24}
    with pytest.raises(ValueError, match="give bank=FILE"):
        Detector.default().predict(tmp_path / "new-ai.png", stream="desk")


def test_a_stream_below_its_minimum_says_how_many_more(tmp_path):
    data = make_dataset(tmp_path / "examples", per_class=5, size=96)
    runner.invoke(app, ["learn", "add", str(data), "--stream", "s", "--bank", str(tmp_path / "b.db"), "--by", "a"])
    result = runner.invoke(app, ["learn", "fit", "--stream", "s", "--bank", str(tmp_path / "b.db")])
    assert result.exit_code == 3 and "15 more ai and 15 more real confirmations are needed" in result.output
    result = runner.invoke(app, ["predict", str(data / "ai" / "ai_000.png"), "--bank", str(tmp_path / "b.db"),
                                 "--stream", "s"])  # fmt: skip
    assert result.exit_code == 2 and "no fitted version yet" in result.output


def test_the_guard_suspends_a_tier_that_stops_holding_and_a_refit_lifts_it(desk, tmp_path):
    bank = Bank(desk)
    # A new "source": smooth pictures (the stream's AI look) that reviewers confirm as real.
    for i in range(3):
        smooth_image(7000 + i, 96).save(tmp_path / f"drift{i}.png")
        done = loop.confirm(bank, "desk", tmp_path / f"drift{i}.png", "real", "bob")
        assert done["seen"][0] == 1 and done["seen"][2] == "likely_ai"  # scored before it was learned
    guard = loop.status(bank, "desk")["guard"]["likely_ai"]
    assert guard["suspended"] and guard["wrong"] == 3 and "suspended by the drift guard" in guard["why"]
    smooth_image(7100, 96).save(tmp_path / "next.png")
    row = Detector.default().predict(tmp_path / "next.png", bank=desk, stream="desk")
    assert row["verdict"] == "inconclusive" and "suspended by the drift guard" in row["why"]
    result = runner.invoke(app, ["learn", "status", "--bank", str(desk)])
    assert "SUSPENDED" in result.output
    assert loop.fit(bank, "desk")["version"] == 2  # the refit learns the new confirmations
    assert not loop.status(bank, "desk")["guard"]["likely_ai"]["suspended"]


def test_a_revoked_confirmation_leaves_the_stream(desk):
    bank = Bank(desk)
    first = store.examples(bank, "desk")[0]
    bank.revoke([first.entry], "mistaken")
    assert first.entry not in {e.entry for e in store.examples(bank, "desk")}
    assert loop.fit(bank, "desk")["examples"]["ai"] + loop.status(bank, "desk")["examples"]["real"] == 47


def test_the_api_learns_only_authenticated_confirmations_and_routes_by_stream(desk, tmp_path):
    from realorai.serve import ServeSettings, create_app

    smooth_image(9100, 96).save(tmp_path / "up.png")
    files = {"files": ("up.png", (tmp_path / "up.png").read_bytes())}
    with TestClient(create_app(ServeSettings(bank=str(desk)), Detector.default()), base_url="http://127.0.0.1") as c:
        assert c.post("/v1/bank/confirm?label=ai&stream=desk", files=files).status_code == 403  # no key: none
        row = c.post("/v1/detect?stream=desk", files=files).json()["results"][0]
        assert "stream 'desk' (version 1)" in row["reliability"]
        assert c.post("/v1/detect?stream=nope", files=files).status_code == 422
        assert c.get("/v1/streams").json()["streams"][0]["name"] == "desk"
    settings = ServeSettings(bank=str(desk), api_key="k", api_key_name="Mod")
    with TestClient(create_app(settings, Detector.default()), base_url="http://127.0.0.1") as c:
        assert c.post("/v1/bank/confirm?label=ai&stream=desk", files=files).status_code == 401
        done = c.post("/v1/bank/confirm?label=ai&stream=desk", files=files, headers={"X-API-Key": "k"}).json()
        assert done["status"] == "banked" and done["stream"] == "desk"
    assert store.examples(Bank(desk), "desk")[-1].confirmed_by == "Mod"


def test_a_new_version_written_by_another_process_is_seen_at_the_next_request(desk, tmp_path):
    from realorai.serve import ServeSettings, create_app

    smooth_image(9200, 96).save(tmp_path / "up.png")
    files = {"files": ("up.png", (tmp_path / "up.png").read_bytes())}
    with TestClient(create_app(ServeSettings(bank=str(desk)), Detector.default()), base_url="http://127.0.0.1") as c:
        assert "(version 1)" in c.post("/v1/detect?stream=desk", files=files).json()["results"][0]["reliability"]
        other = subprocess.run([sys.executable, "-m", "realorai", "learn", "fit", "--stream", "desk", "--bank",
                                located(desk)], capture_output=True, text=True, timeout=300)  # fmt: skip
        assert other.returncode == 0 and "version 2" in other.stdout, other.stderr
        assert "(version 2)" in c.post("/v1/detect?stream=desk", files=files).json()["results"][0]["reliability"]


def test_the_models_own_verdicts_never_become_examples(desk, tmp_path):
    from realorai.serve import ServeSettings, create_app

    before = len(store.examples(Bank(desk), "desk"))
    smooth_image(9300, 96).save(tmp_path / "up.png")
    settings = ServeSettings(bank=str(desk), bank_learn=True)
    with TestClient(create_app(settings, Detector.default()), base_url="http://127.0.0.1") as c:
        c.post("/v1/detect?stream=desk", files={"files": ("up.png", (tmp_path / "up.png").read_bytes())})
    assert len(store.examples(Bank(desk), "desk")) == before


def test_stream_writes_leave_the_banks_match_index_alone(desk):
    from realorai.bank.match import index_for

    bank = Bank(desk)
    before = index_for(bank)
    loop.fit(bank, "desk")  # a new version: no entry changed, so no index rebuild for lookups
    assert index_for(bank) is before


def test_the_server_refits_in_the_background_after_n_confirmations(desk, tmp_path):
    import time

    from realorai.serve import ServeSettings, create_app

    settings = ServeSettings(bank=str(desk), api_key="k", api_key_name="Mod", refit_every=3)
    with TestClient(create_app(settings, Detector.default()), base_url="http://127.0.0.1") as c:
        for i in range(3):
            smooth_image(9400 + i, 96, noise=25).save(tmp_path / f"c{i}.png")
            files = {"files": (f"c{i}.png", (tmp_path / f"c{i}.png").read_bytes())}
            r = c.post("/v1/bank/confirm?label=real&stream=desk", files=files, headers={"X-API-Key": "k"})
            assert r.status_code == 200, r.text
        deadline = time.monotonic() + 120
        while store.latest_number(Bank(desk), "desk") < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert store.latest_number(Bank(desk), "desk") == 2  # fitted by the server, not by hand
        smooth_image(9500, 96).save(tmp_path / "fresh.png")  # not banked: scored by the stream's head
        fresh = {"files": ("fresh.png", (tmp_path / "fresh.png").read_bytes())}
        row = c.post("/v1/detect?stream=desk", files=fresh, headers={"X-API-Key": "k"}).json()["results"][0]
        assert "(version 2)" in row["reliability"]
