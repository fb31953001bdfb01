"""The web page in a real headless Chromium (Debian's package, driven by Playwright's Python API)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time

import pytest
from conftest import smooth_image

from realorai.inference.detector import Detector
from realorai.serve import ServeSettings, create_app

CHROMIUM = os.environ.get("REALORAI_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
# As the machine's notes advise: no background networking, no sandbox when run as root in CI.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    import uvicorn

    port = free_port()
    app = create_app(ServeSettings(port=port), Detector.default())
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 60
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    assert srv.started, "the server did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    if CHROMIUM is None:
        pytest.skip("no chromium on this machine: install Debian's chromium package (.ci/run does when it can)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_page_gives_a_verdict_heatmap_and_findings(server, browser, tmp_path):
    good = tmp_path / "landscape.png"
    smooth_image(3, 480, noise=6.0).save(good)
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"this is not an image")
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(server + "/")
    from playwright.sync_api import expect  # the page's CSP forbids eval, so wait with locators

    expect(page.locator("#model")).to_contain_text("detector", timeout=30_000)
    page.set_input_files("#files", [str(good), str(bad)])
    expect(page.locator("#status")).to_contain_text("Done", timeout=60_000)
    expect(page.locator("[data-testid=verdict]")).to_have_count(2)
    cards = page.locator("#results .card")
    assert cards.count() == 2
    good_card = cards.filter(has_text="landscape.png")
    verdict = good_card.locator("[data-testid=verdict]").inner_text()
    assert verdict in ("AI-generated", "Real")
    heat = good_card.locator("img[data-testid=heatmap]")
    assert heat.get_attribute("src").startswith("data:image/png;base64,")
    box = heat.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100  # the overlay is decoded and shown
    assert "P(AI)" in good_card.inner_text() and "Provenance" in good_card.inner_text()
    assert good_card.locator(".why").inner_text().startswith("The pixel detector gives P(AI)")
    bad_card = cards.filter(has_text="notes.png")
    assert bad_card.locator("[data-testid=verdict]").inner_text() == "Error"
    assert "could not be read: not a recognised image format" in bad_card.locator(".error").inner_text()
    assert "Provenance" not in bad_card.inner_text()  # no "None found" for a file never read
    # Keyboard: the picker is reachable with Tab and the heatmap toggle is a button.
    page.keyboard.press("Tab")
    expect(page.locator("#picklabel")).to_be_focused()
    good_card.locator("button.toggle").click()
    assert heat.get_attribute("src").startswith("blob:")
    shot = tmp_path / "page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.close()


def test_api_docs_render_offline(server, browser):
    """/docs is Swagger UI served from the package: it renders with every other host blocked."""
    from playwright.sync_api import expect

    page = browser.new_page()
    outside = []

    def only_local(route):
        if route.request.url.startswith(server):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(server + "/docs")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible(timeout=30_000)
    assert "/v1/detect" in page.locator(".swagger-ui").inner_text()
    assert outside == []
    page.close()
