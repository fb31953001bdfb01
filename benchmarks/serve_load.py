"""Benchmark: `realorai serve` under 20 concurrent clients on 127.0.0.1 for a fixed time.

Starts the server as a separate process, once with the default detector-clip-b16 and once with
the fallback detector-lite0-early, then each client posts one
512x512 JPEG after another to /v1/detect and waits for the answer. Records requests per
second, p50/p95 latency, errors (anything but 200; a 503 counts as an error here), the
server's resident memory at start and end, in docs/RESULTS.md.

    python benchmarks/serve_load.py [--clients 20] [--seconds 60]
"""

from __future__ import annotations

import argparse
import io
import shlex
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from reproduce_report import machine, replace_section  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def jpeg(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    small = Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).resize((512, 512), Image.BICUBIC)
    arr = np.clip(np.asarray(small, np.float64) + rng.normal(0, 6, (512, 512, 3)), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(quiet: bool = True, args: tuple = (), env: dict | None = None) -> Iterator[tuple[str, int]]:
    """`realorai serve` (the shipped detector; more ``args``, ``env``) on a free port: yields
    (base URL, process id) once ready."""
    port = free_port()
    out = subprocess.DEVNULL if quiet else None
    command = [sys.executable, "-m", "realorai", "serve", "--port", str(port), *args]
    server = subprocess.Popen(command, stdout=out, stderr=out, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            sys.exit("the server did not become ready in 60 s")
        yield url, server.pid
    finally:
        server.terminate()
        server.wait(30)


DETECTORS = {"detector-clip-b16 (default)": "auto", "detector-lite0-early (fallback)": "lite0"}


def load_run(mode: str, clients: int, seconds: float) -> dict:
    """One server with the default detector chosen by ``mode`` (REALORAI_DEFAULT_DETECTOR) under load."""
    import os

    with running_server(env={**os.environ, "REALORAI_DEFAULT_DETECTOR": mode}) as (url, pid):
        images = [jpeg(i) for i in range(clients)]
        httpx.post(url + "/v1/detect", files={"files": ("warm.jpg", images[0])}, timeout=60)  # first-call costs
        model = httpx.get(url + "/readyz", timeout=10).json()["model"]
        rss_start = rss_mb(pid)
        latencies: list[float] = []
        statuses: Counter = Counter()
        lock = threading.Lock()
        stop = time.perf_counter() + seconds

        def client(n: int) -> None:
            with httpx.Client(timeout=120) as c:
                while time.perf_counter() < stop:
                    t0 = time.perf_counter()
                    try:
                        status = c.post(url + "/v1/detect", files={"files": (f"{n}.jpg", images[n])}).status_code
                    except httpx.HTTPError as e:
                        status = type(e).__name__
                    with lock:
                        latencies.append(time.perf_counter() - t0)
                        statuses[status] += 1

        t0 = time.perf_counter()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        rss_end = rss_mb(pid)
    return {"model": model, "latencies": latencies, "statuses": statuses, "wall": wall, "rss": (rss_start, rss_end)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--doc", type=Path, default=ROOT / "docs" / "RESULTS.md")
    args = ap.parse_args()
    command = "python benchmarks/serve_load.py " + shlex.join(sys.argv[1:])
    rows, said = [], []
    for label, mode in DETECTORS.items():
        r = load_run(mode, args.clients, args.seconds)
        if r["model"] != label.split()[0]:
            sys.exit(
                f"{label}: the server loaded {r['model']} (is CLIP's tower fetched? realorai weights fetch clip-b16)"
            )
        lat, statuses, wall = r["latencies"], r["statuses"], r["wall"]
        ok = statuses.get(200, 0)
        q = statistics.quantiles(lat, n=20) if len(lat) > 1 else [float("nan")] * 19
        errors = sum(v for k, v in statuses.items() if k != 200)
        rows.append(f"| {label} | {len(lat)} | {ok} | {errors} | {ok / wall:.1f} | {statistics.median(lat):.2f} s "
                    f"| {q[18]:.2f} s | {r['rss'][0]:.0f} MB | {r['rss'][1]:.0f} MB |")  # fmt: skip
        said.append(f"{label}: {dict(statuses)} in {wall:.0f} s")
    lines = [
        f"- Command: `{command}`",
        f"- Machine: {machine()}",
        f"- {args.clients} concurrent clients for {args.seconds:.0f} s per detector, each posting a 512x512 JPEG "
        "(evidence on, no heatmap) and waiting for the answer; server: `realorai serve` (default settings; the "
        "fallback chosen by REALORAI_DEFAULT_DETECTOR=lite0).",
        "",
        "| detector | requests | answered 200 | errors | requests/s | p50 latency | p95 latency | RSS start "
        "| RSS end |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"Statuses: {'; '.join(said)}. Latency includes queueing: with {args.clients} clients and one inference "
        "thread, a request waits behind the others, so p50 is about clients / throughput.",
    ]
    body = "## Serving under load (`realorai serve`)\n\n" + "\n".join(lines)
    print(body)
    replace_section(args.doc, "serve_load", body)


if __name__ == "__main__":
    main()
