"""Memory of bank lookups and confirmations on big images (hardening round 5): a 100-MP framed
checkerboard PNG through `predict --bank` (the frame finder proposes crops of most of it), and four
100-MP PNGs at once through a server with a bank (detections, then confirmations) with
REALORAI_WORKERS=4 and REALORAI_MAX_DECODED_MB=450. Writes the RESULTS.md section "bank_memory".

    python benchmarks/bank_memory.py
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from reproduce_report import machine, replace_section  # noqa: E402
from serve_load import free_port  # noqa: E402
from serve_memory import cli_peak, kb  # noqa: E402

SIDE = 10_000  # 100 MP


def framed_checkerboard(path: Path) -> None:
    """A 100-MP PNG: a plain frame around a checkerboard of 90% of its sides (a screenshot's shape)."""
    img = Image.new("RGB", (SIDE, SIDE), (245, 245, 245))
    cells = (np.indices((90, 90)).sum(axis=0) % 2 * 200 + 30).astype(np.uint8)
    board = Image.fromarray(cells).resize((SIDE * 9 // 10, SIDE * 9 // 10), Image.Resampling.NEAREST)
    img.paste(board.convert("RGB"), (SIDE // 20, SIDE // 20))
    img.save(path, optimize=False, compress_level=9)


@contextlib.contextmanager
def server(env: dict):
    port = free_port()
    cmd = [sys.executable, "-m", "realorai", "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(30)


def four_at_once(url: str, pid: int, data: bytes, path: str, headers: dict) -> str:
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    before = kb(pid, "VmRSS")
    codes: list[int] = []

    def one(i: int) -> None:
        r = httpx.post(url + path, files={"files": (f"big{i}.png", data)}, headers=headers, timeout=900)
        codes.append(r.status_code)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    grew = (kb(pid, "VmHWM") - before) / 1024
    return f"HTTP {sorted(codes)}, {time.perf_counter() - t0:.1f} s, peak +{grew:,.0f} MB over {before / 1024:,.0f} MB"


def main() -> None:
    command = "python benchmarks/bank_memory.py " + shlex.join(sys.argv[1:])
    lines = [f"- Command: `{command}`", f"- Machine: {machine()}", ""]
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "framed.png"
        framed_checkerboard(png)
        data = png.read_bytes()
        bank = Path(tmp) / "bank.db"
        small = Path(tmp) / "small.png"
        Image.new("RGB", (64, 64)).save(small)
        subprocess.run([sys.executable, "-m", "realorai", "bank", "add", str(small), "--bank", str(bank),
                        "--label", "ai", "--by", "bench", "-q"], capture_output=True)  # fmt: skip
        # The bank file exists (its one entry may be skipped as featureless); predict needs only a bank.
        lines.append(f"- The image: {SIDE} x {SIDE} PNG, {len(data) / 1e3:,.0f} kB, decode cost "
                     f"{SIDE * SIDE * 4 / 1e6:,.0f} MB by the budget's estimate")  # fmt: skip
        for label, args in (("without a bank", []), ("with a bank", ["--bank", str(bank)])):
            peak, seconds, code = cli_peak(["predict", str(png), "--json", *args])
            lines.append(f"- `predict` {label}: exit {code}, {seconds:.1f} s, peak {peak:,.0f} MB")
            print(lines[-1], flush=True)
        env = {"REALORAI_BANK": str(bank), "REALORAI_WORKERS": "4", "REALORAI_MAX_DECODED_MB": "450",
               "REALORAI_API_KEY": "bench", "REALORAI_API_KEY_NAME": "bench"}  # fmt: skip
        with server(env) as (url, pid):
            key = {"X-API-Key": "bench"}
            lines.append(f"- Four 100-MP PNGs at once, `/v1/detect` (workers 4, budget 450 MB): "
                         f"{four_at_once(url, pid, data, '/v1/detect', key)}")  # fmt: skip
            print(lines[-1], flush=True)
            lines.append(f"- Four at once, `/v1/bank/confirm?label=ai`: "
                         f"{four_at_once(url, pid, data, '/v1/bank/confirm?label=ai', key)}")  # fmt: skip
            print(lines[-1], flush=True)
    before = (
        "Before this round (the round's report, same machine type): `predict` with a bank 10.4 s and 987 MB "
        "(2.8 s, 514 MB without); four detections at once peaked at 1.71 GB, four confirmations at 1.70 GB."
    )
    lines += ["", before]
    title = "## Bank lookups and confirmations on 100-MP images (`benchmarks/bank_memory.py`)\n\n"
    replace_section(ROOT / "docs" / "RESULTS.md", "bank_memory", title + "\n".join(lines))


if __name__ == "__main__":
    main()
