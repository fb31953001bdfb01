"""Screenshots in Chromium for docs/: the page (a stripped copy of a signed Gemini image matched
in the bank, its banked thumbnail beside it; a pool image with its pixel hint and its heatmap; a
JPEG named .png, whose note says so; an unreadable file), the model card page, and `realorai
benchmark`'s HTML report of museum111.
Needs ../shared/data, Debian's chromium and the training extra (for the benchmark).

    python benchmarks/screenshots.py [--out docs]   # docs/page.png, model-card.png, benchmark-report.png
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from PIL import Image
from playwright.sync_api import expect, sync_playwright

from realorai.bank import Bank
from realorai.bank.add import add_one
from realorai.inference.detector import Detector
from realorai.provenance import resolve
from realorai.serve import ServeSettings, create_app

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def serve(bank: Path) -> tuple[str, uvicorn.Server]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = ServeSettings(port=port, bank=str(bank), api_key="screenshots", api_key_name="docs")
    srv = uvicorn.Server(uvicorn.Config(create_app(settings, Detector.default()), port=port, log_level="warning"))
    threading.Thread(target=srv.run, daemon=True).start()
    while not srv.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", srv


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    gemini = sorted((DATA / "c2pa-gemini5").rglob("*.png"))[0]
    bank = Bank(tmp / "bank.db", create=True)
    assert add_one(bank, gemini, resolve(None)).status == "banked"
    with Image.open(gemini) as im:  # what a platform would serve: no credential, half size, re-encoded
        buf = io.BytesIO()
        im.convert("RGB").resize((im.width // 2, im.height // 2)).save(buf, "JPEG", quality=80)
    (tmp / "reposted-gemini.jpg").write_bytes(buf.getvalue())
    shutil.copy(sorted((DATA / "game450").rglob("*.jpg"))[0], tmp / "game450-photo.jpg")
    shutil.copy(sorted((DATA / "game450").rglob("*.jpg"))[1], tmp / "renamed-jpeg.png")  # a note, not a finding
    (tmp / "notes.png").write_bytes(b"not an image")
    url, srv = serve(bank.path)
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(url + "/")
        page.fill("#apikey", "screenshots")
        page.locator("#apikey").dispatch_event("change")
        expect(page.locator("#model")).to_contain_text("detector", timeout=30_000)
        page.set_input_files(
            "#files",
            [str(tmp / n) for n in ("reposted-gemini.jpg", "game450-photo.jpg", "renamed-jpeg.png", "notes.png")],
        )
        expect(page.locator("#status")).to_contain_text("Done", timeout=120_000)
        expect(page.locator("img[data-testid=banked]")).to_have_attribute("src", re.compile("^blob:"))
        page.get_by_role("button", name="Show heatmap").nth(1).click()  # the pool photo: overlay and its legend
        page.screenshot(path=str(args.out / "page.png"), full_page=True)
        page.goto(url + "/model")
        page.screenshot(path=str(args.out / "model-card.png"), full_page=True)
        report = tmp / "benchmark"
        cmd = [sys.executable, "-m", "realorai", "benchmark", str(DATA / "museum111"), "-o", str(report),
               "--no-robustness", "-q"]  # fmt: skip
        subprocess.run(cmd, check=True)
        page.goto((report / "benchmark.html").as_uri())
        page.screenshot(path=str(args.out / "benchmark-report.png"), full_page=True)
        browser.close()
    srv.should_exit = True
    print(f"wrote page.png, model-card.png and benchmark-report.png in {args.out}")


if __name__ == "__main__":
    main()
