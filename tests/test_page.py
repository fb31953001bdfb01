"""The web page in a real headless Chromium (Debian's package, driven by Playwright's Python API)."""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import threading
import time
from pathlib import Path

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
    trust = None if signed is None else str(signed[1])
    yield from _serve(c2pa_trust=trust)


def _serve(**settings):
    import uvicorn

    port = free_port()
    app = create_app(ServeSettings(port=port, **settings), Detector.default())
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
    # In upload order, whatever order the answers came in.
    assert [cards.nth(i).locator("figcaption").inner_text() for i in range(3)] == [
        "landscape.png", "notes.png", "signed-generated.jpg"]  # fmt: skip
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
    # The heatmap is off by default (an overlay on every thumbnail hides the pictures): a toggle.
    shown = good_card.locator("figure img")
    assert shown.get_attribute("data-testid") == "upload" and shown.get_attribute("src").startswith("blob:")
    expect(good_card.locator(".legend")).to_be_hidden()
    good_card.locator("button.toggle").click()
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
    # No broken-image icon: the file's name and a plain note instead.
    expect(bad_card.locator(".noimg")).to_contain_text("notes.png: this browser cannot show this file")
    assert bad_card.locator("img").count() == 0
    # Keyboard: the picker is reachable with Tab and the heatmap toggle is a button.
    page.mouse.click(2, 2)  # focus back on the document (the toggle was clicked above)
    page.keyboard.press("Tab")
    expect(page.locator("#picklabel")).to_be_focused()
    good_card.locator("button.toggle").click()
    assert shown.get_attribute("src").startswith("blob:")
    # The rows shown, as CSV, in upload order.
    with page.expect_download() as download:
        page.locator("#csv").click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("path,verdict,basis") and [line.split(",")[0] for line in lines[1:]] == [
        "landscape.png", "notes.png", "signed-generated.jpg"]  # fmt: skip
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


@pytest.fixture(scope="module")
def bank_server(signed, tmp_path_factory):
    """A server with a bank holding the signed image (banked from its verified credential) and
    an API key, so the page can confirm images."""
    if signed is None:
        pytest.skip("the C2PA library is not installed")
    from c2pa_fixtures import make_ca_and_signer, sign_jpeg
    from test_bank import picture

    from realorai.bank import Bank
    from realorai.bank.add import add_one
    from realorai.provenance import resolve

    root = tmp_path_factory.mktemp("page-bank")
    ca_pem, signer = make_ca_and_signer("page bank tests")
    (root / "ca.pem").write_text(ca_pem)
    photo = io.BytesIO()
    picture(11, 384).save(photo, "JPEG", quality=92)  # photo-like: PDQ reads it stably (noise is not)
    sign_jpeg(photo.getvalue(), root / "signed.jpg", signer, "trainedAlgorithmicMedia")
    bank = Bank(root / "bank.db", create=True)
    assert add_one(bank, root / "signed.jpg", resolve(str(root / "ca.pem"))).status == "banked"
    settings = {"bank": str(bank.path), "api_key": "page-key", "api_key_name": "Moderator One"}
    for url in _serve(c2pa_trust=str(root / "ca.pem"), **settings):  # the loop's next step stops the server
        yield url, root / "signed.jpg"


def test_page_shows_a_bank_match_and_confirms(bank_server, browser, tmp_path):
    """A stripped copy of a banked signed picture: ai by match, the banked thumbnail beside it; a
    moderator's "Confirm as AI" banks a new picture, and its mirrored copy is then likely_ai by match."""
    from PIL import Image, ImageOps
    from playwright.sync_api import expect
    from test_bank import picture

    url, signed = bank_server
    with Image.open(signed) as im:
        im.convert("RGB").save(tmp_path / "copy.jpg", quality=80)  # no credential left
    picture(5).save(tmp_path / "fresh.png")
    ImageOps.mirror(picture(5)).save(tmp_path / "fresh-mirrored.jpg", quality=85)
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(url + "/")
    expect(page.locator("#keyrow")).to_be_visible(timeout=30_000)
    page.fill("#apikey", "page-key")
    page.locator("#apikey").dispatch_event("change")
    expect(page.locator("#model")).to_contain_text("detector", timeout=30_000)
    page.set_input_files("#files", [str(tmp_path / "copy.jpg"), str(tmp_path / "fresh.png")])
    expect(page.locator("#status")).to_contain_text("Done", timeout=60_000)
    copy = page.locator("#results .card").filter(has_text="copy.jpg")
    verdict = copy.locator("[data-testid=verdict]")
    assert (verdict.get_attribute("data-verdict"), verdict.get_attribute("data-basis")) == ("ai", "match")
    expect(verdict).to_have_css("background-color", "rgb(165, 15, 21)")  # the solid badge of evidence
    banked = copy.locator("img[data-testid=banked]")
    expect(banked).to_have_attribute("src", re.compile("^blob:"), timeout=10_000)
    box = banked.bounding_box()
    assert box and box["width"] > 50 and box["height"] > 50  # the thumbnail decoded and is shown
    assert "signed by" in copy.inner_text() and "distance" in copy.inner_text()
    fresh = page.locator("#results .card").filter(has_text="fresh.png")
    fresh.get_by_role("button", name="Confirm as AI").click()
    expect(fresh.locator(".actions")).to_contain_text("Banked as ai", timeout=30_000)
    page.set_input_files("#files", [str(tmp_path / "fresh-mirrored.jpg")])
    mirrored = page.locator("#results .card").filter(has_text="fresh-mirrored.jpg")
    expect(mirrored.locator("[data-testid=verdict]")).to_have_attribute("data-basis", "match", timeout=60_000)
    assert mirrored.locator("[data-testid=verdict]").get_attribute("data-verdict") == "likely_ai"
    assert "confirmed ai by Moderator One" in mirrored.inner_text()
    page.screenshot(path=str(tmp_path / "bank-page.png"), full_page=True)
    page.close()


def test_page_scores_by_a_chosen_stream_and_its_confirmations_teach_it(browser, tmp_path):
    """The stream picker: uploads scored by the stream's version, confirmations learned into it."""
    from conftest import make_dataset, smooth_image
    from playwright.sync_api import expect
    from typer.testing import CliRunner

    from realorai.cli.main import app

    bank, runner = tmp_path / "b.db", CliRunner()
    data = make_dataset(tmp_path / "examples", per_class=24, size=96)
    assert runner.invoke(app, ["learn", "add", str(data), "--stream", "desk", "--bank", str(bank), "--by", "a",
                               "-q"]).exit_code == 0  # fmt: skip
    assert runner.invoke(app, ["learn", "fit", "--stream", "desk", "--bank", str(bank)]).exit_code == 0
    smooth_image(9100, 96).save(tmp_path / "new.png")
    for url in _serve(bank=str(bank), api_key="page-key", api_key_name="Moderator One", refit_every=0):
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(url + "/")
        page.fill("#apikey", "page-key")
        page.locator("#apikey").dispatch_event("change")
        expect(page.locator("#streamrow")).to_be_visible(timeout=30_000)
        page.select_option("#stream", "desk")
        expect(page.locator("#streaminfo")).to_contain_text("24 AI + 24 real confirmations; version 1")
        expect(page.locator("#streamfoot")).to_be_visible()  # the footer no longer speaks for the shipped model alone
        page.set_input_files("#files", [str(tmp_path / "new.png")])
        card = page.locator("#results .card").filter(has_text="new.png")
        expect(card.locator("[data-testid=reliability]")).to_contain_text("stream 'desk' (version 1)", timeout=60_000)
        card.get_by_role("button", name="Confirm as AI").click()
        expect(card.locator(".actions")).to_contain_text("learned into stream desk", timeout=30_000)
        expect(page.locator("#streaminfo")).to_contain_text("25 AI + 24 real confirmations", timeout=10_000)
        page.close()
