"""A server's background refit (issue 35, item 3): a child process that only reads the bank, held
while requests run and let go when none do; the server writes the version it fitted."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest
from test_streams import desk  # noqa: F401  (the fixture: stream 'desk', version 1)

from realorai.bank import Bank
from realorai.learn import refit, store

pytestmark = pytest.mark.usefixtures("bank_engine")  # every test here runs on SQLite and on PostgreSQL


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


@pytest.mark.skipif(not sys.platform.startswith("linux") or not refit.CAN_HOLD, reason="needs Linux's /proc")
def test_a_refit_child_is_held_while_requests_run_and_the_server_writes_its_version(desk):  # noqa: F811
    bank = Bank(desk)
    got: dict = {}
    refit.hold()  # a request is in flight when the refit starts
    try:
        worker = threading.Thread(target=lambda: got.update(refit.run(bank, "desk")))
        worker.start()
        deadline = time.monotonic() + 30
        while not refit._children and time.monotonic() < deadline:
            time.sleep(0.01)
        (pid,) = list(refit._children)
        time.sleep(1.0)
        assert _state(pid) == "T"  # stopped: the request has the cores
        assert store.latest_number(bank, "desk") == 1
    finally:
        refit.release()  # the last request answered
    worker.join(120)
    assert got.get("version") == 2, got
    assert store.latest_number(bank, "desk") == 2  # written by this process, from the child's fit
    assert not refit._children


def test_a_failed_refit_says_why_and_writes_nothing(tmp_path):
    from realorai.learn.loop import store as s

    bank = Bank(tmp_path / "b.db", create=True)
    s.create(bank, "empty", "early")
    got = refit.run(bank, "empty")
    assert "confirmations are needed" in got["error"] and store.latest_number(bank, "empty") == 0
