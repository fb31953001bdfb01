"""The HTTP API through FastAPI's TestClient: rows, limits, errors, backpressure, keys."""

from __future__ import annotations

import asyncio
import io
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import png_header_bomb, smooth_image
from fastapi.testclient import TestClient
from PIL import Image

from realorai.imaging import Upload
from realorai.inference.detector import Detector
from realorai.serve import ServeSettings, create_app
from realorai.serve.uploads import Limits, UploadError, read_uploads


def encoded(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def photo(seed: int = 0, size: int = 300) -> bytes:
    return encoded(smooth_image(seed, size, noise=8.0))


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector.default()


@pytest.fixture(scope="module")
def client(detector):
    with TestClient(base_url="http://127.0.0.1", app=create_app(ServeSettings(), detector)) as c:
        yield c


def post(client, *files, query: str = "", headers=None):
    parts = [("files", (name, data, "application/octet-stream")) for name, data in files]
    return client.post(f"/v1/detect{query}", files=parts, headers=headers or {})


def test_health_ready_models_docs(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["model"] == "detector-lite0-early"
    m = client.get("/v1/models").json()
    assert m["models"][0]["threshold"] == pytest.approx(Detector.default().threshold)
    assert m["limits"]["max_upload_mb"] == 20
    assert client.get("/docs").status_code == 200
    assert "/v1/detect" in client.get("/openapi.json").json()["paths"]


def test_detect_rows_match_the_command_line(client, detector, tmp_path):
    """The API row is predict --json's row for the same bytes (same keys, same score), plus error_status."""
    from realorai.inference.predict import predict

    data = photo(1)
    (tmp_path / "a.png").write_bytes(data)
    cli_row = predict([str(tmp_path / "a.png")], show_progress=False)[0][0]
    r = post(client, ("a.png", data))
    assert r.status_code == 200
    body = r.json()
    row = body["results"][0]
    assert set(row) == {*cli_row, "error_status"} and row["error_status"] is None
    assert row["path"] == "a.png"
    assert row["p_ai"] == pytest.approx(cli_row["p_ai"], abs=1e-6)
    assert (row["verdict"], row["basis"], row["tier"]) == (cli_row["verdict"], cli_row["basis"], cli_row["tier"])
    assert row["why"] and body["schema_version"] == 3


def test_heatmap_is_a_png_overlay_with_region_scores(client):
    row = post(client, ("big.png", photo(2, 520)), query="?heatmap=true").json()["results"][0]
    h = row["heatmap"]
    assert h["png"].startswith("data:image/png;base64,")
    assert len(h["boxes"]) == len(h["p_ai"]) >= 4  # a 520-px image gets a denser grid than the verdict's
    assert all(0 <= p <= 1 for p in h["p_ai"])
    import base64

    img = Image.open(io.BytesIO(base64.b64decode(h["png"].split(",", 1)[1])))
    assert img.format == "PNG" and img.width == 520


def test_a_bad_file_does_not_stop_the_others(client):
    r = post(client, ("good.png", photo(3)), ("notes.txt", b"hello, not an image"), ("cut.png", photo(4)[:400]))
    assert r.status_code == 200
    good, text, cut = r.json()["results"]
    assert good["verdict"] in ("likely_ai", "likely_real", "inconclusive") and good["error_status"] is None
    assert (text["error_status"], text["verdict"]) == (415, "error")
    assert cut["error_status"] == 422 and "truncated" in cut["error"]


@pytest.mark.parametrize(
    ("name", "data", "status", "words"),
    [
        ("notes.txt", b"just some text", 415, "not a recognised image"),
        ("empty.png", b"", 415, "empty"),
        ("pic.pcx", encoded(Image.new("RGB", (40, 40)), "PCX"), 415, "PCX files are not accepted"),
        ("cut.jpg", encoded(smooth_image(5, 300), "JPEG")[:700], 422, "truncated"),
        ("bomb.png", png_header_bomb(20_000, 20_000), 422, "decompression bomb"),
    ],
)
def test_single_file_errors_have_their_status(client, name, data, status, words):
    r = post(client, (name, data))
    assert r.status_code == status
    err = r.json()["error"]
    assert err["file"] == name and words in err["message"]


def test_request_limits(detector):
    settings = ServeSettings(max_upload_mb=0.05, max_request_mb=0.2, max_files=3)
    with TestClient(base_url="http://127.0.0.1", app=create_app(settings, detector)) as c:
        big = np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8)
        r = post(c, ("big.png", encoded(Image.fromarray(big))))  # ~120 KB > 50 KB
        assert r.status_code == 413 and r.json()["error"]["file"] == "big.png"
        r = post(c, *[(f"{i}.png", photo(i, 64)) for i in range(4)])
        assert r.status_code == 413 and "too many files" in r.json()["error"]["message"]
        r = c.post("/v1/detect", content=b"x" * 300_000, headers={"content-type": "multipart/form-data; boundary=b"})
        assert r.status_code == 413 and "request larger" in r.json()["error"]["message"]
        r = c.post("/v1/detect", json={"url": "http://example.com/a.jpg"})
        assert r.status_code == 400  # no URL is ever fetched on a client's behalf


def test_an_oversized_upload_is_refused_before_it_is_all_read():
    """The parser stops pulling the body as soon as a file passes the limit."""
    from starlette.requests import Request

    boundary = b"xyz"
    head = b'--xyz\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\n\r\n'
    chunks = [head] + [b"\0" * 10_000] * 100  # a 1 MB file in 10 KB pieces
    pulled = 0

    async def receive():
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": chunks[pulled - 1], "more_body": pulled < len(chunks)}

    scope = {
        "type": "http",
        "method": "POST",
        "headers": [(b"content-type", b"multipart/form-data; boundary=" + boundary)],
    }
    limits = Limits(max_file_bytes=50_000, max_request_bytes=10**9, max_files=4)
    with pytest.raises(UploadError) as e:
        asyncio.run(read_uploads(Request(scope, receive), limits))
    assert e.value.status == 413 and e.value.file == "a.png"
    assert pulled <= 8  # 5 pieces pass the limit; the other 95 are never read


def test_uploads_never_touch_the_disk(client, monkeypatch):
    def no_disk(*a, **k):
        raise AssertionError("an upload was written to a temporary file")

    for name in ("SpooledTemporaryFile", "NamedTemporaryFile", "TemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, no_disk)
    noisy = np.random.default_rng(1).integers(0, 256, (1100, 1100, 3), dtype=np.uint8)
    data = encoded(Image.fromarray(noisy))  # ~3.6 MB: Starlette would spool this to disk
    assert len(data) > 2_000_000
    assert post(client, ("large.png", data)).status_code == 200


class _SlowDetector:
    """Wraps a detector; blocks scoring until released (to fill the queue deterministically)."""

    def __init__(self, det: Detector) -> None:
        self.inner, self.release, self.started = det, threading.Event(), threading.Event()

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def score(self, *args, **kwargs):
        self.started.set()
        self.release.wait(30)
        return self.inner.score(*args, **kwargs)


def test_a_full_queue_answers_503_with_retry_after(detector):
    slow = _SlowDetector(detector)
    with (
        TestClient(base_url="http://127.0.0.1", app=create_app(ServeSettings(queue_size=1), slow)) as c,
        ThreadPoolExecutor(1) as pool,
    ):
        first = pool.submit(post, c, ("a.png", photo(6)))
        assert slow.started.wait(30)
        r = post(c, ("b.png", photo(7)))
        assert r.status_code == 503 and int(r.headers["Retry-After"]) >= 1
        slow.release.set()
        assert first.result(30).status_code == 200
        assert post(c, ("b.png", photo(7))).status_code == 200  # admitted again once there is room


def test_concurrent_requests_get_their_own_answers(client, detector):
    images = {f"{i}.png": photo(10 + i, 240) for i in range(8)}
    expected = {}
    for name, data in images.items():
        expected[name] = detector.rows([Upload(name, data)])[0]["p_ai"]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda kv: post(client, kv), images.items()))
    for (name, _), r in zip(images.items(), answers, strict=True):
        assert r.status_code == 200
        row = r.json()["results"][0]
        assert row["path"] == name and row["p_ai"] == pytest.approx(expected[name], abs=1e-6)


def test_api_key(detector):
    with TestClient(base_url="http://127.0.0.1", app=create_app(ServeSettings(api_key="s3cret"), detector)) as c:
        assert post(c, ("a.png", photo(8))).status_code == 401
        assert post(c, ("a.png", photo(8)), headers={"X-API-Key": "wrong"}).status_code == 401
        assert post(c, ("a.png", photo(8)), headers={"X-API-Key": "s3cret"}).status_code == 200
        assert c.get("/v1/models").status_code == 401
        assert c.get("/").status_code == 200 and c.get("/healthz").status_code == 200


def test_exposing_the_api_needs_a_key():
    with pytest.raises(ValueError, match="REALORAI_API_KEY"):
        ServeSettings(host="0.0.0.0").check_exposure()
    ServeSettings(host="0.0.0.0", api_key="k").check_exposure()
    ServeSettings().check_exposure()  # 127.0.0.1


def test_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("REALORAI_MAX_UPLOAD_MB", "5")
    monkeypatch.setenv("REALORAI_QUEUE_SIZE", "3")
    s = ServeSettings()
    assert (s.max_upload_mb, s.queue_size, s.host) == (5, 3, "127.0.0.1")


def test_page_is_served_offline(client):
    r = client.get("/")
    assert r.status_code == 200 and "<input" in r.text and 'id="files"' in r.text
    assert "http://" not in r.text and "https://" not in r.text  # no CDN: works offline
    assert "default-src 'self'" in r.headers["content-security-policy"]


def test_docs_are_served_from_the_package(client):
    r = client.get("/docs")
    assert r.status_code == 200 and "http://" not in r.text and "https://" not in r.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert client.get(f"/static/swagger/{asset}").status_code == 200


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_api_key_is_no_key(monkeypatch, detector, blank):
    monkeypatch.setenv("REALORAI_API_KEY", blank)
    s = ServeSettings(host="0.0.0.0")
    assert s.api_key is None
    with pytest.raises(ValueError, match="REALORAI_API_KEY"):
        s.check_exposure()  # a blank key must not open the network
    s = ServeSettings(api_key="real-key")
    with TestClient(base_url="http://127.0.0.1", app=create_app(s, detector)) as c:
        assert post(c, ("a.png", photo(8)), headers={"X-API-Key": ""}).status_code == 401


def test_only_loopback_host_names_without_a_key(client, detector):
    """DNS rebinding: a keyless loopback server answers loopback names only."""
    assert client.get("/healthz", headers={"Host": "evil.example.com"}).status_code == 421
    assert post(client, ("a.png", photo(1)), headers={"Host": "evil.example.com:8000"}).status_code == 421
    for host in ("localhost:8000", "127.0.0.1", "[::1]:8000"):
        assert client.get("/healthz", headers={"Host": host}).status_code == 200
    allowed = ServeSettings(allowed_hosts=["scanner.lan"])
    with TestClient(base_url="http://scanner.lan", app=create_app(allowed, detector)) as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/healthz", headers={"Host": "evil.example.com"}).status_code == 421


def test_cross_site_posts_need_a_key(client, detector):
    for headers in ({"Origin": "http://evil.example.com"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}):
        r = post(client, ("a.png", photo(1)), headers=headers)
        assert r.status_code == 403 and "API key" in r.json()["error"]["message"]
    same = {"Origin": "http://127.0.0.1:8000", "Sec-Fetch-Site": "same-origin"}
    assert post(client, ("a.png", photo(1)), headers=same).status_code == 200  # the page itself
    with TestClient(base_url="http://127.0.0.1", app=create_app(ServeSettings(api_key="k"), detector)) as c:
        keyed = {"Origin": "http://evil.example.com", "X-API-Key": "k"}
        assert post(c, ("a.png", photo(1)), headers=keyed).status_code == 200


def raw_post(client, body: bytes, boundary: str = "xyz"):
    return client.post(
        "/v1/detect", content=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )


def test_malformed_multipart_is_a_400_that_says_what(client):
    r = raw_post(client, b"--" + b"b" * 5000 + b"\r\n", boundary="b" * 5000)
    assert r.status_code == 400 and "boundary" in r.json()["error"]["message"]
    part = b'--xyz\r\nContent-Disposition: form-data; name="f"; filename="a.png"\r\n\r\n' + photo(2)
    r = raw_post(client, part)  # no closing boundary
    assert r.status_code == 400 and "closing boundary" in r.json()["error"]["message"]
    assert r.json()["error"]["file"] == "a.png"
    r = raw_post(client, part + b"\r\n--xyz--\r\n")
    assert r.status_code == 200


def test_rfc5987_file_names(client):
    body = (
        b"--xyz\r\nContent-Disposition: form-data; name=\"f\"; filename*=UTF-8''caf%C3%A9%20photo.png\r\n\r\n"
        + photo(3)
        + b"\r\n--xyz--\r\n"
    )
    r = raw_post(client, body)
    assert r.status_code == 200 and r.json()["results"][0]["path"] == "café photo.png"


def test_one_pixel_limit_read_everywhere(detector):
    """REALORAI_MAX_PIXELS above the default is honoured by the decoders, not only shown."""
    from conftest import png_header_bomb

    settings = ServeSettings(max_pixels=150_000_000)
    with TestClient(base_url="http://127.0.0.1", app=create_app(settings, detector)) as c:
        assert c.get("/v1/models").json()["limits"]["max_pixels"] == 150_000_000
        r = post(c, ("wide.png", png_header_bomb(12_500, 10_000)))  # 125 MP
        message = r.json()["error"]["message"]
        assert r.status_code == 422 and "exceeds limit" not in message and "decode" in message
        r = post(c, ("huge.png", png_header_bomb(15_000, 11_000)))  # 165 MP
        assert "exceeds limit 150,000,000" in r.json()["error"]["message"]
