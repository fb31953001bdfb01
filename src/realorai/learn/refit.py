"""A stream's background refit, in a child process that yields the CPU to requests:
``python -m realorai.learn.refit STREAM`` (the bank in $REALORAI_REFIT_BANK) prints the fitted
version; the server writes it.

Why a process, and why it is held while requests run: a refit of 1,000 confirmations is ~10 s of
BLAS. In the server's own process it contends for the GIL and both cores with the requests
being scored. A child at the lowest priority (SCHED_IDLE) with one BLAS thread still slowed
requests (serving p99 1.67x on 2 cores: the matrix products share the cores' caches and memory
bandwidth; a Python busy loop at that priority did not), and starved under steady load. So the
child runs at nice 10, and the server holds every refit child (SIGSTOP) while any request is in
flight and lets it go (SIGCONT) when none is (``hold``/``release``), never more than
``HOLD_SHARE`` of the child's life, so a refit still finishes under constant load. The child
only reads the bank; the version is written by the server (``store.save_version``), so a held
child never holds a lock (benchmarks/refit_p99.py).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time

# One thread for every BLAS the child may load: its work must not spread over the server's cores.
THREADS = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
HOLD_SHARE = 0.8  # a child is held at most this share of its life: under constant load it still runs
CAN_HOLD = hasattr(signal, "SIGSTOP")

_lock = threading.Lock()
_children: dict[int, dict] = {}  # pid -> {"proc", "born", "held_since", "held_for"}
_holding = False


def hold() -> None:
    """Requests are in flight: stop every refit child that has not been held too long already."""
    global _holding
    with _lock:
        _holding = True
        now = time.monotonic()
        for c in _children.values():
            if c["held_since"] is None and c["held_for"] <= HOLD_SHARE * (now - c["born"]):
                _signal(c, signal.SIGSTOP if CAN_HOLD else None)
                c["held_since"] = now


def release() -> None:
    """No request in flight: let every refit child run."""
    global _holding
    with _lock:
        _holding = False
        now = time.monotonic()
        for c in _children.values():
            if c["held_since"] is not None:
                _signal(c, signal.SIGCONT if CAN_HOLD else None)
                c["held_for"] += now - c["held_since"]
                c["held_since"] = None


def _signal(child: dict, sig) -> None:
    if sig is not None:
        with contextlib.suppress(ProcessLookupError):  # it has just finished
            child["proc"].send_signal(sig)


def run(bank, stream: str) -> dict:
    """Fit ``stream`` in a child, write the version it fitted; the ``learn fit`` figures, or
    {"error": reason} (another process fitted meanwhile, too few examples, the child failed)."""
    from realorai.learn import store

    # The bank by the environment, not the command line: a database URL's password stays out of `ps`.
    proc = subprocess.Popen([sys.executable, "-m", "realorai.learn.refit", stream],
                            env={**os.environ, **THREADS, "REALORAI_REFIT_BANK": bank.key}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    with _lock:
        child = {"proc": proc, "born": time.monotonic(), "held_since": None, "held_for": 0.0}
        _children[proc.pid] = child
        if _holding and CAN_HOLD:
            _signal(child, signal.SIGSTOP)
            child["held_since"] = child["born"]
    try:
        out, err = proc.communicate()
    finally:
        with _lock:
            _children.pop(proc.pid, None)
    lines = out.strip().splitlines()
    if proc.returncode != 0 or not lines:
        return {"error": (err.strip().splitlines() or [f"exit {proc.returncode}"])[-1]}
    got = json.loads(lines[-1])
    if "error" in got:
        return got
    try:
        store.save_version(bank, stream, got["version"], base64.b64decode(got["head"]), got["meta"])
    except ValueError as e:
        return {"error": str(e)}
    return got["meta"]["stream"]


def low_priority() -> None:
    """nice 10: below the server's threads, yet not starved by them. (SCHED_IDLE starved it: ONNX
    Runtime's worker threads spin between requests, so an idle-class process got 12 s of CPU in
    15 minutes under steady load. Holding, above, is what keeps it off the requests' cores.)"""
    with contextlib.suppress(OSError):
        os.nice(10)


def main(argv: list[str]) -> int:
    low_priority()
    from realorai.bank import Bank
    from realorai.learn.fitting import prepare

    (stream,) = argv
    try:
        version, head, meta = prepare(Bank(os.environ["REALORAI_REFIT_BANK"]), stream)
    except ValueError as e:
        print(json.dumps({"error": str(e)}))
        return 0
    print(json.dumps({"version": version, "head": base64.b64encode(head).decode(), "meta": meta}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
