"""Beyond one server (issue 37): two server processes sharing a PostgreSQL bank, a bank moved
between engines and back, and a subscription between two servers on 127.0.0.1 (a pull killed
with SIGKILL resumes where it stopped). PostgreSQL is a real one started by the tests
(tests/pg.py, Debian's postgresql package); without it those tests skip and say why."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager

import httpx
import numpy as np
import pytest
from test_bank import picture
from typer.testing import CliRunner

from realorai.bank import Bank, Entry
from realorai.cli.main import app

runner = CliRunner()


@contextmanager
def serving(bank: str, key: str = "k"):
    """``realorai serve --bank BANK`` in its own process on a free port: yields its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "REALORAI_API_KEY": key, "REALORAI_API_KEY_NAME": f"moderator on {port}"}
    proc = subprocess.Popen([sys.executable, "-m", "realorai", "serve", "--bank", bank, "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise AssertionError(f"the server did not start: {proc.stderr.read1().decode()[-2000:]}")  # type: ignore[union-attr]
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


def _detect(url: str, data: bytes) -> dict:
    r = httpx.post(url + "/v1/detect", files={"files": ("copy.jpg", data)}, headers={"X-API-Key": "k"}, timeout=60)
    r.raise_for_status()
    return r.json()["results"][0]


def _until(check, seconds: float = 10.0) -> float:
    """Seconds until ``check()`` holds (fails after ``seconds``)."""
    t0 = time.monotonic()
    while not check():
        assert time.monotonic() - t0 < seconds, f"not within {seconds} s"
        time.sleep(0.1)
    return time.monotonic() - t0


def test_two_servers_on_one_postgresql_bank_see_each_others_changes(postgres, tmp_path):
    url = postgres.url("shared")
    Bank(url, create=True)
    picture(11, 384).save(tmp_path / "original.png")
    buf = io.BytesIO()
    picture(11, 384).resize((300, 300)).save(buf, "JPEG", quality=80)  # a re-encoded, resized copy
    copy = buf.getvalue()
    with serving(url) as a, serving(url) as b:
        assert _detect(b, copy)["basis"] != "match"  # B has its index before the confirmation
        files = {"files": ("original.png", (tmp_path / "original.png").read_bytes())}
        r = httpx.post(a + "/v1/bank/confirm?label=ai", files=files, headers={"X-API-Key": "k"}, timeout=60)
        assert r.status_code == 200 and r.json()["status"] == "banked", r.text
        seen = _until(lambda: _detect(b, copy)["basis"] == "match")
        assert _detect(b, copy)["verdict"] == "likely_ai"
        entry = r.json()["entry"]
        assert runner.invoke(app, ["bank", "revoke", str(entry), "--bank", url, "--by", "lead"]).exit_code == 0
        gone = _until(lambda: _detect(a, copy)["basis"] != "match")
    print(f"confirmation seen by the other server in {seen:.2f} s, revocation in {gone:.2f} s")


def _dump(bank: Bank) -> dict:
    names = ("meta", "entries", "log", "sources", "streams", "stream_examples", "stream_versions")
    tables = {t for t in names if bank.has_table(t)}
    return {t: sorted(tuple(bytes(v) if isinstance(v, memoryview) else v for v in r)
                      for r in bank.read(f"SELECT * FROM {t}")) for t in sorted(tables)}  # fmt: skip


def test_a_bank_copied_to_postgresql_and_back_loses_nothing(postgres, tmp_path):
    from realorai.bank.add import add_one
    from realorai.bank.sources import switch
    from realorai.learn import store

    src = Bank(tmp_path / "a.db", create=True)
    for seed in range(3):
        picture(40 + seed).save(tmp_path / f"p{seed}.png")
        add_one(src, tmp_path / f"p{seed}.png", None, "ai", "alice", note="line one\nline 'two', \"three\"")
    src.add([Entry(pdq="f" * 64, quality=90, sha256="e" * 64, label="real", evidence="confirmed",
                   confirmed_by="subscription teamB", source="teamB", origin="77")])  # fmt: skip
    src.revoke([1], "a mislabel", by="bob")
    src.remove([3], by="carol")  # a gap: id 3 must never be given again, on either side
    switch(src, "teamB", False, by="dana")
    store.create(src, "desk", "early")
    store.add_example(src, "desk", 2, "ai", np.arange(4.0), "alice", (1, 0.9, "likely_ai"))
    store.save_version(src, "desk", 1, b"\x00head bytes\xff", {"stream": {"version": 1}})
    pg = postgres.url("copied")
    assert runner.invoke(app, ["bank", "copy", str(tmp_path / "a.db"), pg]).exit_code == 0
    back = tmp_path / "back.db"
    result = runner.invoke(app, ["bank", "copy", pg, str(back)])
    assert result.exit_code == 0, result.output
    assert _dump(Bank(pg)) == _dump(src) == _dump(Bank(back))
    assert Bank(back).thumbnail(2) == src.thumbnail(2) is not None
    (new,) = Bank(back).add([Entry(pdq="a" * 64, quality=90, sha256="d" * 64, label="ai", evidence="confirmed",
                                   confirmed_by="x")])  # fmt: skip
    (new_pg,) = Bank(pg).add([Entry(pdq="b" * 64, quality=90, sha256="c" * 64, label="ai", evidence="confirmed",
                                    confirmed_by="x")])  # fmt: skip
    assert new == new_pg == 5  # after the highest id ever given (4), on both engines
    again = runner.invoke(app, ["bank", "copy", str(tmp_path / "a.db"), pg])
    assert again.exit_code == 2 and "not a new bank" in again.output


def _own_bank(path, n: int) -> Bank:
    """A bank of ``n`` confirmed random hashes and one c2pa-verified entry."""
    bank = Bank(path, create=True)
    rng = np.random.default_rng(n)
    bank.add([Entry(pdq=rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex(), quality=100, sha256=f"{i:064x}",
                    label="ai" if i % 2 else "real", evidence="confirmed", confirmed_by="team A")
              for i in range(n)])  # fmt: skip
    bank.add([Entry(pdq="c" * 64, quality=100, sha256="c" * 64, label="ai", evidence="c2pa-verified", signer="Google")])
    return bank


def _checkpoint(path) -> int:
    import sqlite3

    try:
        with sqlite3.connect(path, timeout=5) as con:
            row = con.execute("SELECT checkpoint FROM sources WHERE name = 'teamA'").fetchone()
    except sqlite3.Error:
        return 0
    return int(row[0]) if row else 0


def test_a_subscription_pulls_another_servers_bank_resumes_after_kill_9_and_applies_revocations(tmp_path):
    theirs = _own_bank(tmp_path / "a.db", 3000)
    head = int(theirs.read("SELECT max(id) FROM log")[0][0])
    mine = tmp_path / "b.db"
    with serving(str(tmp_path / "a.db")) as a:
        env = {**os.environ, "REALORAI_SUBSCRIBE_KEY": "k"}
        pull = [sys.executable, "-m", "realorai", "bank", "subscribe", a, "--name", "teamA", "--bank", str(mine)]
        proc = subprocess.Popen([*pull, "--batch", "20"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _until(lambda: _checkpoint(mine) > 0, 60)
        proc.send_signal(signal.SIGKILL)  # mid-pull: some batches committed, the rest not
        proc.wait(10)
        cut = _checkpoint(mine)
        assert 0 < cut < head
        result = subprocess.run(pull, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        bank = Bank(mine)
        rows = bank.read("SELECT count(*), count(DISTINCT origin), min(evidence), max(evidence), "
                         "min(confirmed_by) FROM entries WHERE source = 'teamA'")[0]  # fmt: skip
        assert rows == (3001, 3001, "confirmed", "confirmed", "subscription teamA")  # never twice, never verified
        assert _checkpoint(mine) == head
        theirs.revoke([5, 6], "mislabelled", by="team A lead")
        theirs.remove([7])
        assert subprocess.run(pull, env=env, capture_output=True, timeout=300).returncode == 0
        revoked = bank.read("SELECT origin FROM entries WHERE source = 'teamA' AND revoked_at != '' ORDER BY origin")
        assert sorted(int(r[0]) for r in revoked) == [5, 6, 7]
    from realorai.bank.feed import feed_lines

    assert list(feed_lines(bank, 0))[2:] == []  # what it subscribed to is never passed on


def test_a_pull_retries_a_server_that_is_down_then_says_so(tmp_path):
    from realorai.bank.subscribe import TRIES, subscribe

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here
    waits = []
    with pytest.raises(ConnectionError, match=f"no answer after {TRIES} tries"):
        subscribe(Bank(tmp_path / "b.db", create=True), "teamA", f"http://127.0.0.1:{port}", None,
                  log=lambda m: None, sleep=waits.append)  # fmt: skip
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0]  # doubling, then it gives up and says why


def test_when_the_database_goes_away_the_server_says_so_and_comes_back_with_it(postgres, tmp_path):
    import pg

    own = pg.Server()  # its own cluster: this test stops it
    try:
        from realorai.bank.add import add_one

        url = own.url("bank")
        picture(8).save(tmp_path / "p.png")
        picture(41).save(tmp_path / "new.png")
        assert add_one(Bank(url, create=True), tmp_path / "p.png", None, "ai", "alice").status == "banked"
        data, new = (tmp_path / "p.png").read_bytes(), (tmp_path / "new.png").read_bytes()
        with serving(url) as server:
            assert httpx.get(server + "/healthz").json() == {"status": "ok", "bank": "ok"}
            assert _detect(server, data)["basis"] == "match"
            own.halt()
            health = httpx.get(server + "/healthz").json()
            assert health["bank"] == "unreachable" and "127.0.0.1" not in health["bank_problem"]
            assert health["matching"] == "from this server's last index of the bank (1 entries)"
            row = _detect(server, data)  # still answered, and the match says what it rests on
            assert row["basis"] == "match" and row["verdict"] == "likely_ai"
            assert "last copy of the bank's index" in " ".join(f["what"] for f in row["findings"])
            assert _detect(server, new)["basis"] != "match"
            own.start()
            _until(lambda: httpx.get(server + "/healthz").json()["bank"] == "ok", 30)
            # Within RETRY_S (5 s) of the last failed try the server does not wait on the database again.
            _until(lambda: "last copy" not in " ".join(f["what"] for f in _detect(server, data)["findings"]), 15)
    finally:
        own.stop()
