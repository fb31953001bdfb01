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
def signed(tmp_path_factory):
    """(a JPEG signed by a test CA declaring generative AI, that CA as a trust list), or None
    without the C2PA library."""
    try:
        from c2pa_fixtures import make_ca_and_signer, sign_image
    except ImportError:
        return None
    root = tmp_path_factory.mktemp("page-signed")
    ca_pem, signer = make_ca_and_signer("page tests")
    image = root / "signed-generated.jpg"
    sign_image(image, signer, "trainedAlgorithmicMedia")
    (root / "ca.pem").write_text(ca_pem)
    return image, root / "ca.pem"


@pytest.fixture(scope="module")
def server(signed):
    import uvicorn

    port = free_port()
    trust = None if signed is None else str(signed[1])
    app = create_app(ServeSettings(port=port, c2pa_trust=trust), Detector.default())
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


def test_page_gives_a_verdict_heatmap_and_findings(server, browser, signed, tmp_path):
    if signed is None:
        pytest.skip("the C2PA library is not installed")
    good = tmp_path / "landscape.png"
    smooth_image(3, 480, noise=6.0).save(good)
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"this is not an image")
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(server + "/")
    from playwright.sync_api import expect  # the page's CSP forbids eval, so wait with locators

    expect(page.locator("#model")).to_contain_text("detector", timeout=30_000)
    assert page.locator("link[rel=icon]").get_attribute("href").startswith("data:image/svg+xml")
    page.set_input_files("#files", [str(good), str(bad), str(signed[0])])
    expect(page.locator("#status")).to_contain_text("Done", timeout=60_000)
    expect(page.locator("[data-testid=verdict]")).to_have_count(3)
    cards = page.locator("#results .card")
    assert cards.count() == 3
    # Evidence: the signed image is decided by its credential, in the solid badge of evidence.
    evidence = cards.filter(has_text="signed-generated.jpg").locator("[data-testid=verdict]")
    assert evidence.get_attribute("data-verdict") == "ai" and evidence.get_attribute("data-basis") == "provenance"
    assert "AI-generated" in evidence.inner_text()
    expect(evidence).to_have_css("background-color", "rgb(165, 15, 21)")
    # A pixel-only verdict: the shipped model's tiers are measured on unseen sources, and this
    # one says how reliable such verdicts were; an inconclusive one looks neutral.
    good_card = cards.filter(has_text="landscape.png")
    hint = good_card.locator("[data-testid=verdict]")
    assert hint.get_attribute("data-basis") == "pixels"
    assert "sources it never saw" in good_card.locator("[data-testid=reliability]").inner_text()
    if hint.get_attribute("data-verdict") == "inconclusive":
        assert "Inconclusive" in hint.inner_text()
        expect(hint).to_have_css("background-color", "rgb(233, 233, 233)")  # grey: neither answer's colour
    else:
        expect(hint).to_have_css("border-top-style", "dashed")  # a hint is outlined, never solid
    heat = good_card.locator("img[data-testid=heatmap]")
    assert heat.get_attribute("src").startswith("data:image/png;base64,")
    box = heat.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100  # the overlay is decoded and shown
    assert "P(AI) per region" in good_card.locator(".legend").inner_text()
    assert "P(AI)" in good_card.inner_text() and "Provenance" in good_card.inner_text()
    assert good_card.locator(".why").inner_text().startswith("Pixels only: P(AI)")
    bad_card = cards.filter(has_text="notes.png")
    assert bad_card.locator("[data-testid=verdict]").inner_text().strip().endswith("Error")
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
