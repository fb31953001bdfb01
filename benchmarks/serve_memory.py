"""Benchmark: the server's peak memory under decompression bombs (issue 15's cases).

Starts `realorai serve` (the shipped detector, default limits) as a process, warms it up, then
for each case resets the process's peak (/proc/PID/clear_refs) and posts the files: a 233 KB
16-bit grey PNG of 11000 x 10900 (120 MP), three of them in one request with heatmaps, and a
float32 TIFF of the same size. Records status, seconds and the growth of peak resident memory
over the resident memory before the request, in docs/RESULTS.md.

    python benchmarks/serve_memory.py
"""

from __future__ import annotations

import io
import shlex
import struct
import sys
import time
import zlib
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from reproduce_report import machine, replace_section  # noqa: E402
from serve_load import jpeg, running_server  # noqa: E402


def png16(width: int, height: int) -> bytes:
    """A 16-bit grey PNG of zeros, built row by row (never the whole image in memory)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    z = zlib.compressobj(9)
    row = b"\0" * (1 + 2 * width)
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def tiff_float(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.zeros((height, width), np.float32), "F").save(buf, "TIFF", compression="tiff_deflate")
    return buf.getvalue()


def kb(pid: int, field: str) -> int:
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith(field + ":"))
    return int(line.split()[1])


def measure(url: str, pid: int, files: list[tuple[str, bytes]], query: str = "") -> str:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # the peak starts again from the current RSS
    before = kb(pid, "VmRSS")
    t0 = time.perf_counter()
    r = httpx.post(f"{url}/v1/detect{query}", files=[("files", f) for f in files], timeout=600)
    seconds = time.perf_counter() - t0
    grew = (kb(pid, "VmHWM") - before) / 1024
    statuses = [row.get("error_status", 200) for row in r.json().get("results", [])] or [r.status_code]
    size = sum(len(d) for _, d in files) / 1e3
    head = f"{len(files)} file(s), {size:,.0f} kB{query}"
    return f"{head}: HTTP {r.status_code} {statuses}, {seconds:.1f} s, peak +{grew:,.0f} MB"


def main() -> None:
    command = "python benchmarks/serve_memory.py " + shlex.join(sys.argv[1:])
    bomb = png16(11000, 10900)
    cases = {
        "one 16-bit PNG, 11000 x 10900": ([("bomb.png", bomb)], ""),
        "three of them, heatmaps on": ([(f"bomb{i}.png", bomb) for i in range(3)], "?heatmap=true"),
        "float32 TIFF, 11000 x 10900": ([("float.tif", tiff_float(11000, 10900))], ""),
        "a 512-px JPEG, heatmaps on": ([("photo.jpg", jpeg(0))], "?heatmap=true"),
    }
    lines = [
        f"- Command: `{command}`",
        f"- Machine: {machine()}",
        "- Defaults: REALORAI_MAX_DECODED_MB=1024, REALORAI_MAX_PIXELS=120,000,000",
    ]
    lines.append("- Before (issue 15): one such PNG 4.15 GB and 9.4 s; the TIFF 4.37 GB; three in one request 7.0 GB")
    with running_server() as (url, pid):
        httpx.post(f"{url}/v1/detect?heatmap=true", files={"files": ("warm.jpg", jpeg(1))}, timeout=60)
        lines.append(f"- Server resident memory after warm-up: {kb(pid, 'VmRSS') / 1024:,.0f} MB")
        for name, (files, query) in cases.items():
            lines.append(f"- {name}: {measure(url, pid, files, query)}")
            print(lines[-1], flush=True)
    title = "## Server memory under decompression bombs (`benchmarks/serve_memory.py`)\n\n"
    replace_section(ROOT / "docs" / "RESULTS.md", "serve_memory", title + "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
