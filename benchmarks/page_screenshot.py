"""Screenshot of the web page with verdicts and heatmaps, for docs/ and the README.

Starts `realorai serve`, opens / in headless Chromium (Debian's package, through Playwright),
uploads the given images (default: one Gemini image with C2PA credentials and one playground100
photo, from ../shared/data) and saves docs/page.png.

    python benchmarks/page_screenshot.py [IMAGE ...] [--out docs/page.png]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from serve_load import running_server  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
DEFAULT_IMAGES = [SHARED / "c2pa-gemini5" / "ai" / "gemini_0.png", SHARED / "playground100" / "real" / "city_4.jpg"]
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
    with running_server(quiet=False) as (url, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 1000})
        page.goto(url)
        page.set_input_files("#files", [str(i) for i in args.images])
        expect(page.locator("#status")).to_contain_text("Done", timeout=120_000)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.out), full_page=True)
        browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
