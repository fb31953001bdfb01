"""The bank of known images (issue 27): banking, exact matching, the match verdict, bad banks."""

from __future__ import annotations

import io
import json
import multiprocessing
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from conftest import located
from PIL import Image, ImageDraw, ImageFilter, ImageOps
from typer.testing import CliRunner

from realorai.bank import Bank, Entry
from realorai.bank.match import Index, match_findings
from realorai.bank.pdq import Hashed, hash_image
from realorai.cli.main import app
from realorai.provenance.findings import Finding, decide

pytestmark = pytest.mark.usefixtures("bank_engine")  # every test here runs on SQLite and on PostgreSQL

runner = CliRunner()
GEMINI = Path(__file__).resolve().parents[2] / "shared" / "data" / "c2pa-gemini5"


def picture(seed: int, size: int = 256) -> Image.Image:
    """A photo-like picture: a lit gradient, a few shapes, soft edges (PDQ reads such structure;
    random noise or 6x6 colour blocks hash far less stably than photos do)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    base = np.stack([c0 + c1 * x + c2 * y for c0, c1, c2 in rng.uniform(-80, 160, (3, 3))], axis=2)
    img = Image.fromarray(np.clip(base + 60, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        x0, y0 = rng.integers(0, size * 3 // 4, 2)
        w, h = rng.integers(size // 8, size // 2, 2)
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape([int(x0), int(y0), int(x0 + w), int(y0 + h)], fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    return img.filter(ImageFilter.GaussianBlur(size / 128))


def _with_bits_flipped(h: np.ndarray, k: int) -> np.ndarray:
    bits = np.unpackbits(h.copy())
    bits[:k] ^= 1
    return np.packbits(bits)


def _entry(hex_: str, label: str = "ai", evidence: str = "confirmed") -> Entry:
    return Entry(pdq=hex_, quality=100, sha256="0" * 64, label=label, evidence=evidence, confirmed_by="tester")


@pytest.mark.parametrize(("k", "verdict"), [(31, "likely_ai"), (32, None), (50, None), (51, "none")])
def test_threshold_edges_by_constructed_hashes(tmp_path, k, verdict):
    base = np.random.default_rng(1).integers(0, 256, 32, dtype=np.uint8)
    bank = Bank(tmp_path / "b.db", create=True)
    bank.add([_entry(base.tobytes().hex())])
    query = np.stack([_with_bits_flipped(base, k)] * 8)
    found = match_findings(Index(bank, "numpy"), Hashed(query, 100, b""))
    if verdict == "none":
        assert found == []
        return
    (f,) = found
    assert f"distance {k} of 256" in f.what
    d = decide([Finding(**f.to_dict())], "inconclusive")
    if verdict is None:  # 32-50: a finding only, never a verdict
        assert f.strength == "weak" and d["basis"] == "pixels" and "compare side by side" in f.what
    else:
        assert f.strength == "moderate" and d == {"verdict": verdict, "basis": "match", "note": ""}


def test_faiss_and_numpy_give_the_same_matches(tmp_path):
    pytest.importorskip("faiss")
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (300, 32), dtype=np.uint8)
    bank = Bank(tmp_path / "b.db", create=True)
    bank.add([_entry(h.tobytes().hex()) for h in base])
    queries = np.stack([_with_bits_flipped(base[i], k) for i, k in enumerate((0, 10, 31, 32, 45, 50, 51, 90))])
    a, b = Index(bank, "numpy").nearest(queries), Index(bank, "faiss").nearest(queries)
    assert a == b and len(a) >= 6


def test_round_trip_flips_revoke_and_remove(tmp_path):
    img = tmp_path / "orig.png"
    picture(3).save(img)
    db = tmp_path / "bank.db"
    result = runner.invoke(app, ["bank", "add", str(img), "--bank", str(db), "--label", "ai", "--by", "desk A"])
    assert result.exit_code == 0 and "banked (entry 1)" in result.output, result.output
    assert "already banked" in runner.invoke(app, ["bank", "add", str(img), "--bank", str(db), "--label", "ai",
                                                   "--by", "desk A"]).output  # fmt: skip
    copy = tmp_path / "copy.jpg"
    ImageOps.mirror(picture(3)).resize((180, 180)).save(copy, quality=90)
    bank = Bank(db)
    (f,) = match_findings(Index(bank), hash_image(copy))
    assert f.strength == "moderate" and "flipped left to right" in f.what and "confirmed ai by desk A" in f.what
    row = json.loads(runner.invoke(app, ["predict", str(copy), "--bank", str(db), "--json", "-q"]).output)
    assert row["verdict"] == "likely_ai" and row["basis"] == "match" and "Matched in the bank" in row["why"]
    assert runner.invoke(app, ["bank", "revoke", "1", "--bank", str(db), "--why", "wrong"]).exit_code == 0
    assert match_findings(Index(Bank(db)), hash_image(copy)) == []
    assert "1 entries (1 revoked)" in runner.invoke(app, ["bank", "stats", "--bank", str(db)]).output
    assert "removed 1 of 1" in runner.invoke(app, ["bank", "remove", "1", "--bank", str(db)]).output


def test_conflicting_entries_warn_keep_both_and_give_inconclusive(tmp_path):
    img = tmp_path / "art.png"
    picture(5).save(img)
    db = tmp_path / "bank.db"
    runner.invoke(app, ["bank", "add", str(img), "--bank", str(db), "--label", "ai", "--by", "a"])
    result = runner.invoke(app, ["bank", "add", str(img), "--bank", str(db), "--label", "real", "--by", "b"])
    assert result.exit_code == 0 and "warning" in result.output and "both are kept" in result.output
    row = json.loads(runner.invoke(app, ["predict", str(img), "--bank", str(db), "--json", "-q"]).output)
    assert row["verdict"] == "inconclusive" and row["basis"] == "match" and "both labels" in row["why"]


def test_featureless_and_unreadable_images_are_not_banked(tmp_path):
    Image.new("RGB", (200, 200), (128, 128, 128)).save(tmp_path / "flat.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nxx")
    result = runner.invoke(app, ["bank", "add", str(tmp_path), "--bank", str(tmp_path / "b.db"), "--label", "real",
                                 "--by", "x"])  # fmt: skip
    assert result.exit_code == 3 and "featureless" in result.output and "broken.png: error" in result.output


def test_without_a_verified_credential_nothing_is_banked_as_verified(tmp_path):
    picture(6).save(tmp_path / "plain.png")
    result = runner.invoke(app, ["bank", "add", str(tmp_path / "plain.png"), "--bank", str(tmp_path / "b.db")])
    assert result.exit_code == 3 and "no content credential that verifies" in result.output


@pytest.mark.sqlite_only
def test_files_that_are_not_banks_are_refused_by_name(tmp_path):
    (tmp_path / "junk.db").write_bytes(b"not sqlite at all" * 100)
    con = sqlite3.connect(tmp_path / "other.db")
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    Bank(tmp_path / "new.db", create=True)
    con = sqlite3.connect(tmp_path / "new.db")
    con.execute("UPDATE meta SET value = '99' WHERE key = 'version'")
    con.commit()
    con.close()
    for name, said in (("junk.db", "not a realorai bank"), ("other.db", "not a realorai bank"),
                       ("new.db", "newer realorai"), ("missing.db", "no such bank")):  # fmt: skip
        result = runner.invoke(app, ["bank", "stats", "--bank", str(tmp_path / name)])
        assert result.exit_code == 2 and said in result.output and name in result.output


def _writer(args) -> None:
    path, start = args
    bank = Bank(path, create=True)
    for i in range(start, start + 20):
        bank.add([_entry(bytes([i % 256]).hex() * 32)])


def test_two_processes_adding_at_once_lose_nothing(tmp_path):
    path = str(tmp_path / "b.db")
    Bank(path, create=True)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_writer, [(located(path), 0), (located(path), 100)])  # a URL on PostgreSQL
    assert len(Bank(path).entries()) == 40


def test_a_stripped_copy_of_a_signed_image_is_ai_by_match(tmp_path):
    pytest.importorskip("c2pa")
    from c2pa_fixtures import make_ca_and_signer, sign_jpeg

    ca_pem, signer = make_ca_and_signer("bank tests")
    (tmp_path / "ca.pem").write_text(ca_pem)
    buf = io.BytesIO()
    picture(11).save(buf, "JPEG", quality=92)
    sign_jpeg(buf.getvalue(), tmp_path / "signed.jpg", signer, "trainedAlgorithmicMedia")
    db = tmp_path / "bank.db"
    trust = ["--c2pa-trust", str(tmp_path / "ca.pem")]
    result = runner.invoke(app, ["bank", "add", str(tmp_path / "signed.jpg"), "--bank", str(db), *trust])
    assert result.exit_code == 0 and "c2pa-verified" in result.output, result.output
    stripped = tmp_path / "stripped.jpg"
    Image.open(tmp_path / "signed.jpg").convert("RGB").resize((128, 128)).save(stripped, quality=75)
    plain = json.loads(runner.invoke(app, ["predict", str(stripped), "--json", "-q", *trust]).output)
    matched = json.loads(runner.invoke(app, ["predict", str(stripped), "--bank", str(db), "--json", "-q",
                                             *trust]).output)  # fmt: skip
    assert plain["verdict"] == "inconclusive" and plain["basis"] != "match"
    assert matched["verdict"] == "ai" and matched["basis"] == "match", matched
    assert "verified content credential" in matched["why"]


@pytest.mark.skipif(not GEMINI.is_dir(), reason="../shared/data/c2pa-gemini5 is absent")
def test_stripped_gemini_copies_are_ai_once_the_originals_are_banked(tmp_path):
    db = tmp_path / "bank.db"
    result = runner.invoke(app, ["bank", "add", str(GEMINI), "--bank", str(db)])
    assert result.exit_code == 0, result.output
    copies = tmp_path / "copies"
    copies.mkdir()
    originals = sorted(p for p in GEMINI.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    for p in originals:
        img = Image.open(p).convert("RGB")
        buf = io.BytesIO()
        img.resize((img.width // 2, img.height // 2)).save(buf, "JPEG", quality=80)
        (copies / f"{p.stem}.jpg").write_bytes(buf.getvalue())
    plain = [json.loads(line) for line in runner.invoke(app, ["predict", str(copies), "--json", "-q"]).output.split(
        "\n") if line.strip()]  # fmt: skip
    rows = [json.loads(line) for line in runner.invoke(app, ["predict", str(copies), "--bank", str(db), "--json",
                                                             "-q"]).output.split("\n") if line.strip()]  # fmt: skip
    assert len(rows) == len(originals) >= 5
    assert all(r["verdict"] == "inconclusive" for r in plain)
    assert all(r["verdict"] == "ai" and r["basis"] == "match" for r in rows), [r["why"] for r in rows]


def _framed(img: Image.Image, caption: bool) -> Image.Image:
    """A caption band above the picture, or a phone-feed screenshot around it."""
    if caption:
        out = Image.new("RGB", (img.width, img.height + img.height // 4), "white")
        out.paste(img, (0, img.height // 4))
        ImageDraw.Draw(out).text((6, 8), "you will not believe this", fill="black")
        return out
    pic = img.resize((1000, round(1000 * img.height / img.width)))
    out = Image.new("RGB", (1080, pic.height + 520), (240, 240, 240))
    out.paste(pic, (40, 260))
    draw = ImageDraw.Draw(out)
    draw.rectangle([0, 0, 1080, 110], fill=(25, 25, 25))
    draw.text((40, 180), "@someone · 2h", fill="black")
    return out


def textured(seed: int, size: int = 384) -> Image.Image:
    """``picture`` with fine texture all over, as photographs have (the frame finder tells a
    picture from plain interface by its texture)."""
    y, x = np.mgrid[0:size, 0:size]
    shift = np.random.default_rng(seed).uniform(0, 6)
    a = np.asarray(picture(seed, size), dtype=float) + (18 * np.sin(x / 2.3 + shift) * np.sin(y / 1.7))[..., None]
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


@pytest.mark.parametrize("caption", [True, False])
def test_the_picture_inside_a_screenshot_or_above_a_caption_is_recovered(tmp_path, caption):
    from realorai.bank.recover import boxes

    bank = Bank(tmp_path / "b.db", create=True)
    original = textured(70)
    original.save(tmp_path / "o.png")
    bank.add([_entry(hash_image(tmp_path / "o.png").hex)])
    framed = _framed(original, caption)
    framed.save(tmp_path / "framed.jpg", quality=85)
    assert match_findings(Index(bank), hash_image(tmp_path / "framed.jpg")) == []  # the global hash misses it
    found = match_findings(Index(bank), hash_image(tmp_path / "framed.jpg", recover=True))
    assert found and found[0].strength == "moderate" and "the picture inside this image at" in found[0].what
    assert found[0].value["box"] is not None
    # A plain photograph has no frame: nothing more to hash.
    assert boxes(textured(71)) == []
