"""The bank shared and served: export/import round trip, bad lines, re-verification on import,
and the API (matches in /v1/detect, thumbnails, confirmations, learning)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageOps
from test_bank import picture
from typer.testing import CliRunner

from realorai.bank import Bank
from realorai.bank.add import add_one
from realorai.bank.exchange import export_rows, import_text
from realorai.cli.main import app as cli
from realorai.inference.detector import Detector
from realorai.serve import ServeSettings, create_app

pytestmark = pytest.mark.usefixtures("bank_engine")  # every test here runs on SQLite and on PostgreSQL

runner = CliRunner()


def _jpeg(img: Image.Image, q: int = 85) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=q)
    return buf.getvalue()


def _confirmed_bank(tmp_path, n: int = 3) -> Bank:
    bank = Bank(tmp_path / "a.db", create=True)
    for i in range(n):
        picture(i).save(tmp_path / f"p{i}.png")
        assert add_one(bank, tmp_path / f"p{i}.png", label="ai" if i else "real", by="alice", note='x, "y"').entry
    return bank


def test_export_import_round_trip_keeps_hashes_and_names_no_paths(tmp_path):
    bank = _confirmed_bank(tmp_path)
    result = runner.invoke(cli, ["bank", "export", "--bank", bank.key, "-o", str(tmp_path / "x.csv")])
    assert result.exit_code == 0 and "exported 3 entries" in result.output, result.output
    text = (tmp_path / "x.csv").read_text()
    assert str(tmp_path) not in text and "p0.png" not in text  # no path or name of the banking machine
    result = runner.invoke(cli, ["bank", "import", str(tmp_path / "x.csv"), "--bank", str(tmp_path / "b.db"),
                                 "--by", "bob"])  # fmt: skip
    assert result.exit_code == 0 and "imported 3 entries" in result.output, result.output
    a, b = bank.entries(), Bank(tmp_path / "b.db").entries()
    assert [(e.pdq, e.label, e.quality, e.sha256) for e in a] == [(e.pdq, e.label, e.quality, e.sha256) for e in b]
    assert all(e.evidence == "confirmed" and e.confirmed_by == "bob" for e in b)
    assert "stated evidence: confirmed (alice)" in b[0].note and 'x, "y"' in b[0].note
    # A copy of a banked picture matches in the imported bank just as in the original.
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(_jpeg(ImageOps.mirror(picture(1)).resize((200, 200)), 70))
    row = Detector.default().predict([copy], bank=tmp_path / "b.db")[0]
    assert (row["verdict"], row["basis"]) == ("likely_ai", "match") and "bob" in row["why"]
    again = import_text(Bank(tmp_path / "b.db"), text, "bob", "x.csv")
    assert not again.banked and len(again.skipped) == 3  # nothing banked twice


def test_bad_lines_are_reported_by_number_and_the_rest_imported(tmp_path):
    good = _confirmed_bank(tmp_path, 2).entries()
    text = "\n".join([
        "signal_type,signal,label,quality",
        f"pdq,{good[0].pdq},real,90",      # 2 good
        "pdq,abc,ai,90",                   # 3 not 64 hex digits
        f"pdq,{good[1].pdq},fake,90",      # 4 bad label
        f"md5,{good[1].pdq},ai,90",        # 5 another signal type
        f"pdq,{good[1].pdq},ai,101",       # 6 quality out of range
        f"pdq,{good[1].pdq},ai,20",        # 7 featureless: skipped, not bad
        f"pdq,{good[1].pdq},ai,90,extra",  # 8 more fields than the header
        "# a comment",
        f"pdq,{good[1].pdq.upper()},ai,",  # 10 good (hex case and no quality are fine)
    ])  # fmt: skip
    (tmp_path / "te.csv").write_text(text)
    result = runner.invoke(cli, ["bank", "import", str(tmp_path / "te.csv"), "--bank", str(tmp_path / "n.db"),
                                 "--by", "carol"])  # fmt: skip
    assert result.exit_code == 1, result.output
    for n, why in [(3, "64 hex"), (4, "'fake'"), (5, "'md5'"), (6, "quality"), (8, "fields")]:
        assert f"te.csv:{n}: bad line" in result.output and why in result.output
    assert "te.csv:7: skipped: featureless" in result.output
    assert "imported 2 entries" in result.output
    assert [e.label for e in Bank(tmp_path / "n.db").entries()] == ["real", "ai"]
    # Header-less hash lines with --label; a non-UTF-8 file is refused by name.
    (tmp_path / "plain.txt").write_text(f"{good[0].pdq}\n")
    result = runner.invoke(cli, ["bank", "import", str(tmp_path / "plain.txt"), "--bank", str(tmp_path / "m.db"),
                                 "--by", "d", "--label", "ai"])  # fmt: skip
    assert result.exit_code == 0 and "imported 1 entries" in result.output, result.output
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00junk")
    result = runner.invoke(cli, ["bank", "import", str(tmp_path / "bin.csv"), "--bank", str(tmp_path / "m.db"),
                                 "--by", "d"])  # fmt: skip
    assert result.exit_code == 2 and "bin.csv: not UTF-8" in result.output


def test_import_keeps_c2pa_verified_only_when_the_original_verifies_here(tmp_path):
    pytest.importorskip("c2pa")
    from c2pa_fixtures import make_ca_and_signer, sign_jpeg

    from realorai.provenance import resolve

    ca_pem, signer = make_ca_and_signer("exchange tests")
    (tmp_path / "ca.pem").write_text(ca_pem)
    originals = tmp_path / "originals"
    originals.mkdir()
    sign_jpeg(_jpeg(picture(21, 300), 92), originals / "signed.jpg", signer, "trainedAlgorithmicMedia")
    trust = resolve(str(tmp_path / "ca.pem"))
    source = Bank(tmp_path / "a.db", create=True)
    assert add_one(source, originals / "signed.jpg", trust).why == "ai, c2pa-verified"
    text = export_rows(source)
    blind = import_text(Bank(tmp_path / "b.db", create=True), text, "eve", "a.csv", trust=trust)
    (entry,) = Bank(tmp_path / "b.db").entries()
    assert blind.verified == 0 and entry.evidence == "confirmed" and "stated evidence: c2pa-verified" in entry.note
    result = runner.invoke(cli, ["bank", "import", "-", "--bank", str(tmp_path / "c.db"), "--by", "eve"])
    assert result.exit_code != 0  # "-" is no file here: refused, nothing imported
    (tmp_path / "a.csv").write_text(text)
    args = ["--by", "eve", "--verify-with", str(originals), "--c2pa-trust", str(tmp_path / "ca.pem")]
    result = runner.invoke(cli, ["bank", "import", str(tmp_path / "a.csv"), "--bank", str(tmp_path / "c.db"), *args])
    assert "1 re-verified as c2pa-verified" in result.output, result.output
    (entry,) = Bank(tmp_path / "c.db").entries()
    assert entry.evidence == "c2pa-verified" and "exchange tests" in entry.signer
    # Under another trust list the same original does not verify: the row is only confirmed.
    other = import_text(Bank(tmp_path / "d.db", create=True), text, "eve", "a.csv",
                        verify_with={entry.sha256: originals / "signed.jpg"}, trust=resolve(None))  # fmt: skip
    assert other.verified == 0 and Bank(tmp_path / "d.db").entries()[0].evidence == "confirmed"


def _client(tmp_path, **settings) -> TestClient:
    return TestClient(create_app(ServeSettings(**settings), Detector.default()), base_url="http://127.0.0.1")


def test_api_matches_serves_thumbnails_and_takes_confirmations(tmp_path):
    bank = _confirmed_bank(tmp_path)
    copy = _jpeg(picture(2).resize((180, 180)), 75)
    with _client(tmp_path, bank=bank.key) as c:
        row = c.post("/v1/detect", files={"files": ("copy.jpg", copy, "image/jpeg")}).json()["results"][0]
        assert (row["verdict"], row["basis"]) == ("likely_ai", "match")
        plain = c.post("/v1/detect?evidence=false", files={"files": ("copy.jpg", copy, "image/jpeg")}).json()
        assert plain["results"][0]["basis"] == "pixels"  # pixels only reads no evidence, the bank included
        thumb = c.get("/v1/bank/entries/3/thumbnail")
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
        assert max(Image.open(io.BytesIO(thumb.content)).size) <= 128
        assert c.get("/v1/bank/entries/99/thumbnail").status_code == 404
        assert c.get("/v1/bank").json()["bank"]["entries"] == 3
        new = {"files": ("new.png", _jpeg(picture(30)), "image/jpeg")}
        assert c.post("/v1/bank/confirm?label=real", files=new).status_code == 403  # no API key: no confirmations
    with _client(tmp_path, bank=bank.key, api_key="k", api_key_name="Mod") as c:
        assert c.post("/v1/bank/confirm?label=real", files=new).status_code == 401
        done = c.post("/v1/bank/confirm?label=real", files=new, headers={"X-API-Key": "k"}).json()
        assert done["status"] == "banked" and Bank(bank.key).entries([done["entry"]])[0].confirmed_by == "Mod"
        two = {"files": [("a.png", _jpeg(picture(31))), ("b.png", _jpeg(picture(32)))]}
        assert c.post("/v1/bank/confirm?label=ai", files=two["files"], headers={"X-API-Key": "k"}).status_code == 400
        junk = {"files": ("x.png", b"not an image")}
        bad = c.post("/v1/bank/confirm?label=ai", files=junk, headers={"X-API-Key": "k"})
        assert bad.status_code == 422 and "x.png" in bad.text
    with _client(tmp_path) as c:
        assert c.get("/v1/bank").json() == {"bank": None, "confirm": False}
        assert c.get("/v1/bank/entries/1/thumbnail").status_code == 404


def test_a_server_learns_signed_uploads_and_refuses_a_bad_bank(tmp_path, bank_engine):
    pytest.importorskip("c2pa")
    from c2pa_fixtures import make_ca_and_signer, sign_jpeg

    ca_pem, signer = make_ca_and_signer("serve learn tests")
    (tmp_path / "ca.pem").write_text(ca_pem)
    sign_jpeg(_jpeg(picture(41, 300), 92), tmp_path / "signed.jpg", signer, "digitalCapture")
    settings = {"bank": str(tmp_path / "learn.db"), "bank_learn": True, "c2pa_trust": str(tmp_path / "ca.pem")}
    with _client(tmp_path, **settings) as c:
        signed = {"files": ("signed.jpg", (tmp_path / "signed.jpg").read_bytes(), "image/jpeg")}
        assert c.post("/v1/detect", files=signed).json()["results"][0]["verdict"] == "real"
        (entry,) = Bank(tmp_path / "learn.db").entries()
        assert (entry.label, entry.evidence) == ("real", "c2pa-verified")
        stripped = _jpeg(Image.open(tmp_path / "signed.jpg").resize((200, 200)), 70)
        row = c.post("/v1/detect", files={"files": ("s.jpg", stripped)}).json()["results"][0]
        assert (row["verdict"], row["basis"]) == ("real", "match")
    if bank_engine != "sqlite":
        return  # the rest is about a file that is not SQLite at all
    (tmp_path / "junk.db").write_bytes(b"not sqlite at all" * 100)
    junk = str(tmp_path / "junk.db")
    with pytest.raises(ValueError, match="junk.db: not a realorai bank"), _client(tmp_path, bank=junk):
        pass
    result = runner.invoke(cli, ["serve", "--bank", str(tmp_path / "junk.db")])
    assert result.exit_code == 2 and "junk.db: not a realorai bank" in result.output


class _Random:
    """A stand-in bank of ``n`` random hashes (the index reads only ``hashes``)."""

    def __init__(self, n: int) -> None:
        rng = np.random.default_rng(n)
        self.h = rng.integers(0, 256, (n, 32), dtype=np.uint8)

    def hashes(self):
        return np.arange(1, len(self.h) + 1), self.h, np.zeros(len(self.h), np.uint8), ("random", 0), 0


def _big(hashes):
    from realorai.bank import mih

    before, mih.BIG_FROM = mih.BIG_FROM, 0
    try:
        return mih.ChunkTables(hashes)
    finally:
        mih.BIG_FROM = before


def test_multi_index_search_finds_exactly_what_a_scan_finds(monkeypatch):
    from realorai.bank.match import MIH_FROM, Index
    from realorai.bank.mih import ChunkTables

    bank = _Random(MIH_FROM + 5000)
    rng = np.random.default_rng(7)
    queries = rng.integers(0, 256, (9, 32), dtype=np.uint8)
    for v, (row, k) in enumerate([(5, 0), (50, 1), (500, 15), (5000, 30), (9000, 31), (12000, 32), (15000, 40)]):
        bits = np.unpackbits(bank.h[row].copy())
        bits[rng.choice(256, k, replace=False)] ^= 1
        queries[v] = np.packbits(bits)
    # The hardest 31 for 11 chunks of 23 bits: 3 bits in each of 10 chunks and 1 in the 3 bits no chunk holds.
    bits = np.unpackbits(bank.h[7000].copy())
    bits[[23 * k + j for k in range(10) for j in (0, 7, 22)] + [254]] ^= 1
    queries[7] = np.packbits(bits)
    # ... and for 16 chunks of 16 bits: 2 bits in each of 15 chunks, 1 in the last.
    bits = np.unpackbits(bank.h[8000].copy())
    bits[[16 * k + j for k in range(15) for j in (0, 15)] + [250]] ^= 1
    queries[8] = np.packbits(bits)
    fast, scan = Index(bank, "auto"), Index(bank, "numpy")
    assert fast._tables is not None and scan._tables is None
    for big in (False, True):  # both layouts: 16 chunks of 16 bits, and 11 of 23 (from 2^21 hashes)
        fast._tables = ChunkTables(bank.h) if not big else _big(bank.h)
        assert fast._tables.bits == (23 if big else 16)
        assert fast.nearest(queries, 31) == scan.nearest(queries, 31)
    found = fast.nearest(queries, 31)
    assert found == scan.nearest(queries, 31)
    assert {i - 1 for i in found} == {5, 50, 500, 5000, 9000, 7000, 8000}  # 32 and 40 bits away: beyond the radius
    assert fast.nearest(queries, 50) == scan.nearest(queries, 50)  # wider radii scan
    monkeypatch.setenv("REALORAI_BANK_POSSIBLE", "never")
    assert Index(bank, "numpy").possible is False
    monkeypatch.setenv("REALORAI_BANK_POSSIBLE", "sometimes")
    with pytest.raises(ValueError, match="always, never or auto"):
        Index(bank, "numpy")
