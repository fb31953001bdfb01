"""The bundled C2PA trust list, its overrides and refresh, and the real-world Gemini fixtures."""

from __future__ import annotations

import http.server
import io
import json
import shutil
import threading
from pathlib import Path

import pytest
from conftest import SHARED, smooth_image
from PIL import Image
from typer.testing import CliRunner

from realorai.cli.main import app
from realorai.provenance import inspect_evidence
from realorai.provenance.trust import SIGNERS, TrustListError, bundled_dir, info, refresh, resolve

c2pa = pytest.importorskip("c2pa")
runner = CliRunner()
GEMINI = SHARED / "c2pa-gemini5" / "ai"


def test_bundled_list_is_the_official_one():
    i = info()
    assert i["certificates"] == 30 and i["license"] == "CC BY 4.0" and i["date"] == "2026-08-21"
    assert "conformance-public" in i["source"]
    assert (bundled_dir() / "C2PA-TSA-TRUST-LIST.pem").is_file()


def test_resolve_overrides(tmp_path):
    assert resolve(None).pem == (bundled_dir() / SIGNERS).read_text()
    assert resolve("none").pem is None and resolve("NONE").pem is None and not resolve("none").checked
    assert resolve(resolve(None)) == resolve(None)  # resolved anchors pass through
    bad = tmp_path / "bad.pem"
    bad.write_text("hello")
    with pytest.raises(TrustListError, match="bad.pem: no PEM certificate"):
        resolve(bad)
    with pytest.raises(TrustListError, match="missing.pem: cannot read"):
        resolve(tmp_path / "missing.pem")


def test_malformed_trust_file_is_an_error_line(tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    smooth_image(1, 64).save(tmp_path / "x.png")
    result = runner.invoke(app, ["inspect", str(tmp_path / "x.png"), "--c2pa-trust", str(bad), "-q"])
    assert result.exit_code == 2 and "bad.pem: no PEM certificate" in result.output


def test_refresh_writes_a_checked_copy_without_network(tmp_path, monkeypatch):
    source = tmp_path / "upstream"
    source.mkdir()
    for name in ("C2PA-TRUST-LIST.pem", "C2PA-TSA-TRUST-LIST.pem"):
        shutil.copy(bundled_dir() / name, source / name)
    dest = tmp_path / "user"
    monkeypatch.setenv("REALORAI_TRUST_DIR", str(dest))
    got = refresh(source.as_uri() + "/")  # file:// stands in for the https source
    assert got["certificates"] == 30 and (dest / SIGNERS).is_file()
    assert info()["folder"] == str(dest)  # a refreshed list takes precedence over the bundled one
    (source / "C2PA-TRUST-LIST.pem").write_text("<html>error page</html>")
    with pytest.raises(TrustListError):
        refresh(source.as_uri() + "/")
    assert "BEGIN CERTIFICATE" in (dest / SIGNERS).read_text()  # a bad download never replaces a good list


def _leaf_pem() -> str:
    """A self-signed certificate that is not a CA (basic constraints ca=False)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "leaf.example")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_a_trust_list_must_be_ca_certificates_only(tmp_path, monkeypatch):
    """An HTML page holding a PEM block, a block that does not parse, or a leaf certificate
    is refused (by --c2pa-trust and by refresh, which then keeps the list in use)."""
    good = (bundled_dir() / SIGNERS).read_text()
    first = good[good.index("-----BEGIN") : good.index("-----END CERTIFICATE-----") + 25]
    cases = {
        "page.pem": f"<html><body><pre>\n{first}\n</pre></body></html>",
        "garbled.pem": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        "leaf.pem": _leaf_pem(),
    }
    words = {"page.pem": "not a list of PEM", "garbled.pem": "does not parse", "leaf.pem": "not a CA"}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(TrustListError, match=words[name]):
            resolve(tmp_path / name)
    assert resolve(bundled_dir() / SIGNERS).checked  # the official list, labels and all, passes
    source, dest = tmp_path / "up", tmp_path / "user"
    source.mkdir()
    monkeypatch.setenv("REALORAI_TRUST_DIR", str(dest))
    for name in (SIGNERS, "C2PA-TSA-TRUST-LIST.pem"):
        shutil.copy(bundled_dir() / name, source / name)
    refresh(source.as_uri())  # no trailing slash: still the folder
    (source / SIGNERS).write_text(cases["page.pem"])
    with pytest.raises(TrustListError, match="not a list of PEM"):
        refresh(source.as_uri())
    assert info()["certificates"] == 30  # the previous list stays in use


def test_refresh_errors_are_expected_errors(tmp_path):
    for url, words in (("foo", "not a URL"), ((tmp_path / "nowhere").as_uri(), "C2PA-TRUST-LIST.pem: cannot download")):
        result = runner.invoke(app, ["trust", "refresh", "--url", url, "--dest", str(tmp_path / "d")])
        assert result.exit_code == 2 and words in result.output and "unexpected" not in result.output
    (tmp_path / "latin").mkdir()
    (tmp_path / "latin" / SIGNERS).write_bytes(b"\xff\xfe not utf-8")
    result = runner.invoke(app, ["trust", "refresh", "--url", (tmp_path / "latin").as_uri(), "--dest", str(tmp_path)])
    assert result.exit_code == 2 and "not UTF-8" in result.output


def _xmp_jpeg(path: Path, url: str) -> None:
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:dcterms="http://purl.org/dc/terms/" '
        f'dcterms:provenance="{url}"/></rdf:RDF></x:xmpmeta>'
    )
    buf = io.BytesIO()
    smooth_image(2, 64).save(buf, "JPEG", xmp=xmp.encode())
    path.write_bytes(buf.getvalue())


def test_images_cannot_make_the_inspector_send_requests(tmp_path):
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        f = tmp_path / "remote.jpg"
        _xmp_jpeg(f, f"http://127.0.0.1:{server.server_port}/manifest.c2pa")
        inspect_evidence(f)
        inspect_evidence(f, trust="none")
        assert hits == []
        inspect_evidence(f, allow_network=True)  # the control: the same file does fetch when allowed
        assert hits, "the fixture should make c2pa fetch when the network is allowed"
    finally:
        server.shutdown()


@pytest.mark.skipif(not GEMINI.is_dir(), reason="../shared/data/c2pa-gemini5 is not here")
@pytest.mark.parametrize("command", ["predict", "inspect"])
def test_gemini_images_are_ai_by_strong_provenance_with_no_flags(tmp_path, command):
    result = runner.invoke(app, [command, str(GEMINI), "--json", "-q"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.strip().splitlines()]
    assert len(rows) == 5
    for row in rows:
        c2pa_findings = [f for f in row["findings"] if f["source"] == "c2pa"]
        assert len(c2pa_findings) == 1, c2pa_findings  # each finding once
        assert c2pa_findings[0]["strength"] == "strong" and c2pa_findings[0]["points_to"] == "ai"
        assert row["verdict"] == "ai" and row["basis"] == "provenance"
    # Re-encoded, the manifest is gone and the pixel detector decides.
    copy = tmp_path / "reencoded.jpg"
    Image.open(next(GEMINI.glob("*.png"))).convert("RGB").save(copy, quality=90)
    result = runner.invoke(app, ["inspect", str(copy), "--json", "-q"])
    row = json.loads(result.output)
    assert not [f for f in row["findings"] if f["source"] == "c2pa"]
    assert row["basis"] == "pixels" and row["verdict"] == row["tier"]
