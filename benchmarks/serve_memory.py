"""Benchmark: peak memory under decompression bombs of every format Pillow opens, through the API,
`realorai predict` and `realorai data scan` (issues 15 and 22).

For each case the server (a `realorai serve` process, warmed up, default limits) has its peak
reset (/proc/PID/clear_refs) before the request; the command-line cases run in a fresh process
each and report their peak resident memory over a run on a 512-px JPEG. Writes the figures and
each format's bytes per pixel and largest image under the budget into docs/RESULTS.md.

    python benchmarks/serve_memory.py
"""

from __future__ import annotations

import io
import shlex
import struct
import subprocess
import sys
import tempfile
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


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_zeros(width: int, height: int, depth: int = 16) -> bytes:
    """A grey PNG of zeros, built row by row (never the whole image in memory)."""
    z = zlib.compressobj(9)
    row = b"\0" * (1 + depth // 8 * width)
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, depth, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def ico_of(png: bytes) -> bytes:
    return struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, len(png), 22) + png


def encoded(size: tuple[int, int], fmt: str, mode: str = "RGB", **kw) -> bytes:
    buf = io.BytesIO()
    if mode == "F":
        img = Image.fromarray(np.zeros((size[1], size[0]), np.float32), "F")
    else:
        img = Image.new(mode, size, 40 if mode in ("L", "P") else (40, 80, 120))
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def rotated_jpeg(size: tuple[int, int]) -> bytes:
    img = Image.new("RGB", size, (40, 80, 120))
    exif = img.getexif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, exif=exif)
    return buf.getvalue()


CASES = {
    "16-bit PNG, 11000 x 10900 (120 MP)": ("bomb.png", lambda: png_zeros(11000, 10900)),
    "ICO wrapping a 20000 x 20000 PNG": ("bomb.ico", lambda: ico_of(png_zeros(20000, 20000, 8))),
    "WebP, 11000 x 10900": ("bomb.webp", lambda: encoded((11000, 10900), "WEBP", quality=50, method=0)),
    "AVIF, 11000 x 10900": ("bomb.avif", lambda: encoded((11000, 10900), "AVIF", quality=30, speed=10)),
    "JPEG 2000, 7000 x 7000 (49 MP)": ("bomb.jp2", lambda: encoded((7000, 7000), "JPEG2000")),
    "JPEG, EXIF orientation 6, 11000 x 10900": ("rot.jpg", lambda: rotated_jpeg((11000, 10900))),
    "JPEG, EXIF orientation 6, 10000 x 10000 (100 MP)": ("rot100.jpg", lambda: rotated_jpeg((10000, 10000))),
    "float32 TIFF, 11000 x 10900": ("float.tif", lambda: encoded((11000, 10900), "TIFF", "F",
                                                                 compression="tiff_deflate")),
    "GIF, 10000 x 10000 canvas": ("canvas.gif", lambda: encoded((10000, 10000), "GIF", "P")),
}  # fmt: skip


def kb(pid: int, field: str) -> int:
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith(field + ":"))
    return int(line.split()[1])


def api(url: str, pid: int, files: list[tuple[str, bytes]], query: str = "") -> str:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # the peak starts again from the current RSS
    before = kb(pid, "VmRSS")
    t0 = time.perf_counter()
    r = httpx.post(f"{url}/v1/detect{query}", files=[("files", f) for f in files], timeout=600)
    seconds = time.perf_counter() - t0
    grew = (kb(pid, "VmHWM") - before) / 1024
    statuses = [row.get("error_status") or 200 for row in r.json().get("results", [])] or [r.status_code]
    return f"HTTP {statuses}, {seconds:.1f} s, +{grew:,.0f} MB"


# A small launcher runs the command and reports its child's peak: Linux folds the forking
# process's resident size into the child's ru_maxrss at exec, and this process holds the bombs
# it just encoded (gigabytes for AVIF), so a direct child's figure would be this process's.
LAUNCH = (
    "import os, subprocess, sys; p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, "
    "stderr=subprocess.DEVNULL); _, s, u = os.wait4(p.pid, 0); print(u.ru_maxrss, os.waitstatus_to_exitcode(s))"
)


def cli_peak(args: list[str]) -> tuple[float, float, int]:
    """(peak resident MB, seconds, exit code) of one `realorai` command in a fresh process."""
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", LAUNCH, "realorai", *args, "-q"], capture_output=True, text=True)
    maxrss_kb, code = map(int, out.stdout.split())
    return maxrss_kb / 1024, time.perf_counter() - t0, code


def cli(folder: Path, baseline: dict, command: str) -> str:
    args = ["predict", str(folder), "--json"] if command == "predict" else [
        "data", "scan", str(folder), "-o", str(folder.parent / f"{folder.name}.parquet")]  # fmt: skip
    peak, seconds, code = cli_peak(args)
    # The whole process's peak (a refused file may never load the model: below the baseline).
    return f"exit {code}, {seconds:.1f} s, {peak:,.0f} MB ({peak - baseline[command]:+,.0f})"


def per_format() -> list[str]:
    from realorai import limits

    budget = limits.current().max_decoded_bytes
    rows = ["| format (mode) | bytes a pixel, decoding | largest image under the default budget |", "|---|---|---|"]
    for name, mode, fmt, kw in [
        ("JPEG", "RGB", "JPEG", {}), ("JPEG, EXIF-rotated", "RGB", "JPEG", {"rotated": True}), ("PNG", "RGB", "", {}),
        ("PNG", "RGBA", "", {}), ("PNG 16-bit grey", "I;16", "", {}), ("WebP", "RGB", "WEBP", {}),
        ("WebP", "RGBA", "WEBP", {}), ("AVIF", "RGB", "AVIF", {}), ("JPEG 2000", "RGB", "JPEG2000", {}),
        ("TIFF, BMP", "RGB", "", {}), ("GIF", "P", "", {}),
    ]:  # fmt: skip
        per = limits.decoded_bytes(mode, 1, 1, fmt=fmt, **kw)
        mp = min(budget / per, limits.current().max_pixels) / 1e6
        rows.append(f"| {name} ({mode}) | {per} | {mp:,.0f} MP |")
    rows.append(f"| ICO / CUR entry | 24 | {min(budget / 24, limits.current().max_pixels) / 1e6:,.0f} MP |")
    return rows


def main() -> None:
    command = "python benchmarks/serve_memory.py " + shlex.join(sys.argv[1:])
    lines = [
        f"- Command: `{command}`",
        f"- Machine: {machine()}",
        "- Defaults: REALORAI_MAX_DECODED_MB=1024, REALORAI_MAX_PIXELS=120,000,000",
        "- Before (issue 22): an ICO wrapping a 20000 x 20000 PNG took 1.65 GB and 16 s in `predict` before being "
        "refused; a 120-MP WebP +1.83 GB in the server, AVIF +1.23 GB, orientation-6 JPEG +0.94 GB; `data scan` "
        "of four 16-bit PNGs 1.77 GB; `predict` of three 1.64 GB",
        "",
        "| case | file | API (one file): status, time, server peak growth | `predict`: exit, time, peak (vs baseline) "
        "| `data scan`: the same |",
        "|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "baseline"
        base.mkdir()
        (base / "photo.jpg").write_bytes(jpeg(0))
        baseline = {c: cli_peak(a)[0] for c, a in {"predict": ["predict", str(base), "--json"],
                    "data scan": ["data", "scan", str(base), "-o", str(Path(tmp) / "b.parquet")]}.items()}  # fmt: skip
        lines.insert(3, f"- Command-line baselines (a 512-px JPEG): predict {baseline['predict']:,.0f} MB, data scan "
                     f"{baseline['data scan']:,.0f} MB")  # fmt: skip
        with running_server() as (url, pid):
            httpx.post(f"{url}/v1/detect?heatmap=true", files={"files": ("warm.jpg", jpeg(1))}, timeout=60)
            lines.insert(4, f"- Server resident memory after warm-up: {kb(pid, 'VmRSS') / 1024:,.0f} MB")
            for name, (file, make) in CASES.items():
                data = make()
                folder = Path(tmp) / file.replace(".", "_")
                folder.mkdir()
                (folder / file).write_bytes(data)
                cells = [
                    api(url, pid, [(file, data)]),
                    cli(folder, baseline, "predict"),
                    cli(folder, baseline, "data scan"),
                ]
                lines.append(f"| {name} | {len(data) / 1e3:,.1f} kB | " + " | ".join(cells) + " |")
                print(lines[-1], flush=True)
            png = CASES["16-bit PNG, 11000 x 10900 (120 MP)"][1]()
            three = [(f"bomb{i}.png", png) for i in range(3)]
            lines.append(f"| three 16-bit PNGs in one request, heatmaps on | {3 * len(png) / 1e3:,.0f} kB | "
                         f"{api(url, pid, three, '?heatmap=true')} | | |")  # fmt: skip
        # Several bombs in one folder: the command line holds the same process-wide budget as the
        # server (the data scan decodes with several threads; predict returns freed memory).
        many = Path(tmp) / "four_pngs"
        many.mkdir()
        for i in range(4):
            (many / f"bomb{i}.png").write_bytes(png)
        lines.append(f"| four 16-bit PNGs in one folder | {4 * len(png) / 1e3:,.0f} kB | | "
                     f"{cli(many, baseline, 'predict')} | {cli(many, baseline, 'data scan')} |")  # fmt: skip
        print(lines[-1], flush=True)
    lines += ["", "Decode cost by format (`realorai.limits.decoded_bytes`, measured peaks: "
              "`tests/test_hardening.py`):", "", *per_format()]  # fmt: skip
    title = "## Memory under decompression bombs, every format (`benchmarks/serve_memory.py`)\n\n"
    replace_section(ROOT / "docs" / "RESULTS.md", "serve_memory", title + "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
