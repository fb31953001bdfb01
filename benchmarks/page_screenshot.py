"""Screenshot of the web page with verdicts and heatmaps, for docs/ and the README.

Starts `realorai serve`, opens / in headless Chromium (Debian's package, through Playwright),
uploads the given images (default: one Gemini image with C2PA credentials and one playground100
photo, from ../shared/data) and saves docs/page.png.

    python benchmarks/page_screenshot.py [IMAGE ...] [--out docs/page.png]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
DEFAULT_IMAGES = [SHARED / "c2pa-gemini5" / "ai" / "gemini_0.png", SHARED / "playground100" / "real" / "people_9.jpg"]
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"]


def main() -> None:
    from playwright.sync_api import expect, sync_playwright

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("images", nargs="*", type=Path, default=DEFAULT_IMAGES)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "page.png")
    args = ap.parse_args()
    missing = [str(p) for p in args.images if not p.is_file()]
    if missing:
        sys.exit(f"missing images: {', '.join(missing)}")
    chromium = shutil.which("chromium") or sys.exit("no chromium: apt-get install chromium")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "realorai", "serve", "--port", str(port)])
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=ARGS)
            page = browser.new_page(viewport={"width": 1100, "height": 1000})
            page.goto(url)
            page.set_input_files("#files", [str(i) for i in args.images])
            expect(page.locator("#status")).to_contain_text("Done", timeout=120_000)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(30)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
