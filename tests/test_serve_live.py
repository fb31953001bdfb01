"""The server as a process on loopback (uvicorn, real sockets): memory under decompression
bombs, and slow clients that must not lock others out. Bounded in time."""

from __future__ import annotations

import contextlib
import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import png16, smooth_image


def photo() -> bytes:
    buf = io.BytesIO()
    smooth_image(3, 300, noise=8.0).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def live_server(tmp_path: Path, **env):
    port = free_port()
    environ = {**os.environ, **{f"REALORAI_{k.upper()}": str(v) for k, v in env.items()}}
    proc = subprocess.Popen(
        [sys.executable, "-m", "realorai", "serve", "--port", str(port)],
        cwd=tmp_path,  # no stray .env
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            assert proc.poll() is None, "the server exited at start"
            time.sleep(0.1)
        yield base, proc.pid
    finally:
        proc.terminate()
        proc.wait(20)


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
def test_memory_stays_bounded_under_decompression_bombs(tmp_path):
    """Three 16-MP 16-bit PNGs (30 KB each; 112 MB each to decode) in one request with heatmaps,
    and one 36-MP one over the budget: the decode budget (150 MB here) bounds the peak."""
    budget_mb = 150
    with live_server(tmp_path, max_decoded_mb=budget_mb) as (base, pid):
        assert httpx.post(f"{base}/v1/detect", files={"f": ("w.jpg", photo())}, timeout=60).status_code == 200
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
        before = status_kb(pid, "VmRSS")
        bombs = [("files", (f"b{i}.png", png16(4000, 4000))) for i in range(3)]
        assert sum(len(b[1][1]) for b in bombs) < 200_000
        r = httpx.post(f"{base}/v1/detect?heatmap=true", files=bombs, timeout=120)
        assert r.status_code == 200, r.text
        rows = r.json()["results"]
        assert all(row["p_ai"] is not None and row["heatmap"]["png"].startswith("data:") for row in rows)
        peak_mb = (status_kb(pid, "VmHWM") - before) / 1024
        # The budget, plus crops, heatmap tiles and allocator slack; before the budget, the
        # banded 16-bit conversion and one decode per image, this grew by about 1 GB.
        assert peak_mb < budget_mb + 120, f"peak grew by {peak_mb:.0f} MB"
        big = httpx.post(f"{base}/v1/detect", files={"f": ("big.png", png16(6000, 6000))}, timeout=60)
        assert big.status_code == 422 and "REALORAI_MAX_DECODED_MB" in big.json()["error"]["message"]


def test_slow_bodies_do_not_lock_out_other_clients(tmp_path):
    """Clients trickling their bodies (1 byte a second) hold reader slots, never inference
    slots, and are cut off (408) once under the minimum rate; a normal client is served."""
    slow_clients = 6
    with live_server(tmp_path, queue_size=2, body_timeout_s=20) as (base, _):
        port = int(base.rsplit(":", 1)[1])
        body = b'--xyz\r\nContent-Disposition: form-data; name="f"; filename="a.png"\r\n\r\n' + b"a" * 9000
        sent = [0] * slow_clients

        def trickle(n: int, s: socket.socket) -> None:
            s.sendall(body[sent[n] : sent[n] + 1])
            sent[n] += 1

        socks = []
        for _ in range(slow_clients):
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            s.sendall(
                b"POST /v1/detect HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: multipart/form-data; boundary=xyz\r\nContent-Length: 10000\r\n\r\n"
            )
            socks.append(s)
        t0 = time.monotonic()
        for n, s in enumerate(socks):
            trickle(n, s)
        time.sleep(1.0)
        r = httpx.post(f"{base}/v1/detect", files={"f": ("w.jpg", photo())}, timeout=30)
        assert r.status_code == 200, r.text
        answers = []
        for n, s in enumerate(socks):
            with contextlib.suppress(OSError):
                while time.monotonic() - t0 < 15:
                    s.settimeout(1.0)
                    try:
                        data = s.recv(4096)
                        break
                    except TimeoutError:
                        trickle(n, s)  # keep trickling
                answers.append(data)
            s.close()
        assert len(answers) == slow_clients
        assert all(a.startswith(b"HTTP/1.1 408") for a in answers), answers[:1]
        assert time.monotonic() - t0 < 15
