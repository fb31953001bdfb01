"""Provenance evidence on fixtures the tests build: signed C2PA, SD watermarks, metadata."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import smooth_image
from PIL import Image, PngImagePlugin

from realorai.provenance import TrustAnchors, decide, inspect_evidence
from realorai.provenance.findings import MAX_VALUE_CHARS, Finding

c2pa = pytest.importorskip("c2pa")
x509 = pytest.importorskip("cryptography.x509")
skdata = pytest.importorskip("skimage.data")

from c2pa_fixtures import IPTC, make_ca_and_signer, sign_image  # noqa: E402


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def signer():
    return make_ca_and_signer()[1]


def findings(path, source: str | None = None, **kw) -> list[dict]:
    result = inspect_evidence(path, **kw)
    return [f.to_dict() for f in result.findings if source is None or f.source == source]


# ------------------------------------------------------------------ C2PA
def test_c2pa_generation_claim_untrusted_signer(tmp_path, signer):
    f = tmp_path / "gen.jpg"
    sign_image(f, signer, "trainedAlgorithmicMedia")
    (found,) = findings(f, "c2pa")
    assert found["strength"] == "moderate" and found["points_to"] == "ai"
    assert "signer not on the trust list" in found["what"] and "trainedAlgorithmicMedia" in found["what"]
    assert "Test Signer" in found["what"]


def test_c2pa_capture_claim_untrusted_is_weak(tmp_path, signer):
    f = tmp_path / "cam.jpg"
    sign_image(f, signer, "digitalCapture")
    (found,) = findings(f, "c2pa")
    assert found["strength"] == "weak" and found["points_to"] == "real"


def test_c2pa_trusted_signer_decides(tmp_path):
    ca_pem, own_signer = make_ca_and_signer("trusted org")
    f = tmp_path / "trusted.jpg"
    sign_image(f, own_signer, "trainedAlgorithmicMedia")
    (found,) = findings(f, "c2pa", trust=TrustAnchors(ca_pem, "test CA"))
    assert found["strength"] == "strong" and "trusted signer" in found["what"]
    # The same file against the bundled official list: our test CA is not on it.
    (default,) = findings(f, "c2pa")
    assert default["strength"] == "moderate" and "not on the trust list" in default["what"]
    (unchecked,) = findings(f, "c2pa", trust="none")
    assert unchecked["strength"] == "moderate" and "trust not checked" in unchecked["what"]
    verdict = decide([Finding(**found)], "likely_real")
    assert verdict["verdict"] == "ai" and verdict["basis"] == "provenance"


def test_c2pa_tampered_pixels_are_invalid(tmp_path, signer):
    f = tmp_path / "gen.jpg"
    sign_image(f, signer, "trainedAlgorithmicMedia")
    data = bytearray(f.read_bytes())
    data[-300] ^= 0xFF  # inside the image data, after the manifest
    f.write_bytes(bytes(data))
    (found,) = findings(f, "c2pa")
    assert found["strength"] == "invalid" and found["points_to"] is None
    assert "mismatch" in json.dumps(found["value"])


def test_c2pa_corrupt_manifest_is_reported_not_raised(tmp_path, signer):
    f = tmp_path / "gen.jpg"
    sign_image(f, signer, "trainedAlgorithmicMedia")
    data = bytearray(f.read_bytes())
    at = data.find(b"c2pa.claim")
    assert at > 0
    data[at : at + 200] = bytes(200)  # wipe part of the manifest
    f.write_bytes(bytes(data))
    result = inspect_evidence(f)
    c2pa_findings = [x for x in result.findings if x.source == "c2pa"]
    assert c2pa_findings and all(x.strength == "invalid" for x in c2pa_findings)


def test_stripping_metadata_removes_c2pa(tmp_path, signer):
    f = tmp_path / "gen.jpg"
    sign_image(f, signer, "trainedAlgorithmicMedia")
    stripped = tmp_path / "stripped.jpg"
    Image.open(f).save(stripped, quality=90)
    assert findings(stripped, "c2pa") == []


# ------------------------------------------------------------------ watermarks
def embed(rgb: np.ndarray, kind: str, payload) -> np.ndarray:
    from imwatermark import WatermarkEncoder

    enc = WatermarkEncoder()
    enc.set_watermark(kind, payload)
    return enc.encode(np.ascontiguousarray(rgb[:, :, ::-1]), "dwtDct")[:, :, ::-1]


@pytest.mark.parametrize(
    "name,kind,payload",
    [
        ("StableDiffusionV1", "bytes", b"StableDiffusionV1"),
        ("SDV2", "bytes", b"SDV2"),
        ("SDXL", "bits", [int(b) for b in bin(0b101100111110110010010000011110111011000110011110)[2:]]),
    ],
)
def test_stable_diffusion_watermarks_found_then_lost_to_jpeg(tmp_path, name, kind, payload):
    marked = embed(skdata.astronaut(), kind, payload)
    png = tmp_path / "sd.png"
    Image.fromarray(np.ascontiguousarray(marked)).save(png)
    (found,) = findings(png, "watermark")
    assert found["strength"] == "strong" and found["points_to"] == "ai" and f"'{name}'" in found["what"]
    jpg = tmp_path / "sd.jpg"
    Image.open(png).save(jpg, quality=75)
    assert findings(jpg, "watermark") == []


def test_unmarked_photo_has_no_watermark(tmp_path):
    f = tmp_path / "clean.png"
    Image.fromarray(skdata.astronaut()).save(f)
    assert findings(f, "watermark") == []


def test_watermark_found_on_large_images_via_top_band(tmp_path):
    big = np.asarray(Image.fromarray(skdata.astronaut()).resize((1600, 1200)))
    f = tmp_path / "big.png"
    Image.fromarray(np.ascontiguousarray(embed(big, "bytes", b"SDV2"))).save(f)
    assert [x["what"] for x in findings(f, "watermark")][0].startswith("Stable Diffusion invisible watermark 'SDV2'")


# ------------------------------------------------------------------ metadata
def test_png_generation_chunks(tmp_path):
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a cat\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 64x64")
    info.add_text("prompt", json.dumps({"3": {"class_type": "KSampler"}}))
    info.add_text("Comment", "made with Midjourney v6")
    f = tmp_path / "gen.png"
    smooth_image(1).save(f, pnginfo=info)
    found = {x["what"]: x for x in findings(f, "metadata")}
    strong = [w for w, x in found.items() if x["strength"] == "strong"]
    assert any("AUTOMATIC1111" in w for w in strong) and any("ComfyUI" in w for w in strong)
    assert any("Midjourney" in w and x["strength"] == "moderate" for w, x in found.items())
    stripped = tmp_path / "stripped.png"
    Image.open(f).save(stripped)  # Pillow drops text chunks unless asked to keep them
    assert findings(stripped, "metadata") == []


def test_exif_generator_and_camera(tmp_path):
    exif = Image.Exif()
    exif[0x0131] = "Adobe Firefly"
    f = tmp_path / "firefly.jpg"
    smooth_image(2).save(f, exif=exif)
    (found,) = findings(f, "metadata")
    assert found["strength"] == "strong" and "Firefly" in found["what"]

    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "EOS 5D"
    exif.get_ifd(0x8769)[0x9003] = "2024:05:01 10:00:00"
    f = tmp_path / "camera.jpg"
    smooth_image(3).save(f, exif=exif)
    (found,) = findings(f, "metadata")
    assert found["strength"] == "weak" and found["points_to"] == "real" and "Canon EOS 5D" in found["what"]
    assert "2024:05:01" in found["what"]


def test_xmp_digital_source_type_and_malformed_xmp(tmp_path):
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        b'Iptc4xmpExt:DigitalSourceType="' + IPTC.encode() + b'trainedAlgorithmicMedia"/></rdf:RDF></x:xmpmeta>'
    )
    f = tmp_path / "xmp.jpg"
    smooth_image(4).save(f, xmp=xmp)
    (found,) = findings(f, "metadata")
    assert found["strength"] == "moderate" and found["points_to"] == "ai"
    bad = tmp_path / "bad_xmp.jpg"
    smooth_image(4).save(
        bad, xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF DigitalSourceType="trainedAlgorithmicMedia"'
    )
    (found,) = findings(bad, "metadata")
    assert found["strength"] == "invalid" and "malformed" in found["what"]
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp.decode())
    png = tmp_path / "xmp.png"
    smooth_image(4).save(png, pnginfo=info)
    assert [x["strength"] for x in findings(png, "metadata")] == ["moderate"]


def test_enormous_text_chunk_is_bounded(tmp_path):
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "x" * (4 << 20) + " Stable Diffusion")
    f = tmp_path / "huge.png"
    smooth_image(5).save(f, pnginfo=info)
    result = inspect_evidence(f)  # searched only up to MAX_SCAN_CHARS: the late name is not reached
    assert result.error == "" and result.findings == []
    assert len(Finding("metadata", "x", "weak", None, "y" * 10_000).value) < MAX_VALUE_CHARS + 40


def test_non_image_bytes_are_an_error_not_a_crash(tmp_path):
    f = tmp_path / "fake.png"
    f.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    result = inspect_evidence(f)
    assert result.error and result.findings == []
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    assert "empty" in inspect_evidence(empty).error


# ------------------------------------------------------------------ combining
def test_decide_rule():
    watermark_ai = Finding("watermark", "sd mark", "strong", "ai")
    png_ai = Finding("metadata", "PNG parameters", "strong", "ai")
    c2pa_real = Finding("c2pa", "camera", "strong", "real")
    c2pa_ai = Finding("c2pa", "generated", "strong", "ai")
    moderate_ai = Finding("metadata", "xmp", "moderate", "ai")
    # Only verified provenance decides alone, against the pixels too.
    assert decide([c2pa_ai], "likely_real")["verdict"] == "ai"
    assert decide(None, "likely_real")["verdict"] == "likely_real"  # provenance not read
    # Forgeable claims never override the pixels, nor let them overstate: a contradiction is inconclusive.
    for claim in (watermark_ai, png_ai):
        c = decide([claim], "likely_real")
        assert c["verdict"] == "inconclusive" and "pixels say likely real" in c["note"] and "can be added" in c["note"]
        assert decide([claim], "likely_ai")["verdict"] == "likely_ai"
        assert decide([claim], "inconclusive")["verdict"] == "inconclusive"
    assert "watermark" in decide([watermark_ai], "likely_real")["note"]
    assert decide([moderate_ai], "likely_real")["verdict"] == "likely_real"  # moderate evidence never decides
    both = decide([c2pa_ai, c2pa_real], "likely_ai")
    assert both["verdict"] == "likely_ai" and "contradict" in both["note"]
    assert decide([], None) == {"verdict": "inconclusive", "basis": "none", "note": ""}
    assert decide([c2pa_real], None)["verdict"] == "real"
    assert decide([png_ai], None)["verdict"] == "inconclusive"  # no pixel score: an unsigned claim still never decides


IPTC_TERMS = {
    "trainedAlgorithmicMedia": "ai",
    "compositeWithTrainedAlgorithmicMedia": "ai",
    "digitalCapture": "real",
    "computationalCapture": "real",
    "negativeFilm": "real",
    "algorithmicallyEnhanced": None,
    "compositeSynthetic": None,
    "algorithmicMedia": None,
    "dataDrivenMedia": None,
}


@pytest.mark.parametrize(("term", "points_to"), IPTC_TERMS.items())
def test_iptc_terms_by_published_meaning(tmp_path, signer, term, points_to):
    f = tmp_path / "x.jpg"
    sign_image(f, signer, term)
    (found,) = findings(f, "c2pa")
    assert found["points_to"] == points_to
    if points_to is None:  # non-generative enhancement and composites of unknown parts prove nothing
        assert found["strength"] == "weak"
        assert decide([Finding(**found)], "likely_real")["verdict"] == "likely_real"


def test_repeated_actions_give_one_finding(tmp_path, signer):
    f = tmp_path / "x.jpg"
    sign_image(f, signer, "trainedAlgorithmicMedia", repeat=3)
    assert len(findings(f, "c2pa")) == 1


EDITORS_AND_CAMERAS = [
    "Editor de imagen 3.2",
    "Adobe Photoshop 25.0 (Windows)",
    "Adobe Lightroom Classic 13.0 (Macintosh)",
    "GIMP 2.10.36",
    "paint.net 5.0.12",
    "Affinity Photo 2.3",
    "darktable 4.6.1",
    "Imagenomic Portraiture 4",
    "Firefly Studio",
    "HDR+ 1.0.641377693z",
    "iPhone 15 Pro",
    "ILCE-7M4 v2.00",
    "Snapseed 2.0",
    "Microsoft Windows Photo Viewer 10.0",
    "Krita 5.2",
]


@pytest.mark.parametrize("software", EDITORS_AND_CAMERAS)
def test_editor_and_camera_software_is_not_a_generator(tmp_path, software):
    f = tmp_path / "x.png"
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", software)
    info.add_text("Description", "Imagen de la playa")
    smooth_image(1, 32).save(f, pnginfo=info)
    assert [x for x in findings(f) if x["points_to"] == "ai"] == []


def test_audit_flags_metadata_that_gives_the_label_away(tmp_path):
    from realorai.data.audit import audit
    from realorai.data.manifest import scan

    for label in ("ai", "real"):
        (tmp_path / "d" / label).mkdir(parents=True)
    for i in range(12):
        info = PngImagePlugin.PngInfo()
        info.add_text("parameters", f"prompt {i}\nSteps: 20, Sampler: Euler, Seed: {i}")
        smooth_image(i, 64, noise=10).save(tmp_path / "d" / "ai" / f"{i}.png", pnginfo=info)
        smooth_image(500 + i, 64, noise=10).save(tmp_path / "d" / "real" / f"{i}.png")
    df = scan(tmp_path / "d", show_progress=False)
    assert df.loc[df["label"] == "ai", "generator_metadata"].all()
    result = audit(df)
    assert result["single_feature_accuracy"]["generator_metadata"] == 1.0
    assert any("SHORTCUT" in w for w in result["warnings"])


def test_vectorised_block_scores_match_the_library_loop():
    from imwatermark.maxDct import EmbedMaxDct

    from realorai.provenance.watermark import frame_scores

    rng = np.random.default_rng(0)
    frame = rng.normal(0, 60, (64, 92))
    frame[:4, :4] = 5.0  # a block of ties: the first maximum must win, as in the library
    reference = EmbedMaxDct(watermarks=[], wmLen=1).decode_frame(frame, 36, [[]])[0]
    assert frame_scores(frame, 36).tolist() == [float(x) for x in reference]


@pytest.mark.parametrize("compressed", [False, True])
def test_huge_png_text_chunk_is_one_error_row(tmp_path, compressed, cnn_run):
    detector = cnn_run
    from conftest import smooth_image
    from PIL import PngImagePlugin
    from typer.testing import CliRunner

    from realorai.cli.main import app

    info = PngImagePlugin.PngInfo()
    text = "A" * (80 * 2**20 if not compressed else 20 * 2**20)
    if compressed:
        info.add_text("Comment", text, zip=True)  # a zlib bomb: 20 MB of text in a few kB
    else:
        info.add_text("Comment", text)
    bad = tmp_path / "bad.png"
    smooth_image(1, 32).save(bad, pnginfo=info)
    smooth_image(2, 64).save(tmp_path / "good.png")
    result = CliRunner().invoke(app, ["inspect", str(tmp_path), "--json", "-q", "--model", str(detector)])
    assert result.exit_code == 1, result.output  # one unreadable, the other scored
    rows = {Path(r["path"]).name: r for r in map(json.loads, result.output.strip().splitlines())}
    assert set(rows) == {"bad.png", "good.png"}
    assert rows["bad.png"]["verdict"] == "error" and re.search("text.chunk", rows["bad.png"]["error"], re.I)
    assert not rows["good.png"]["error"] and rows["good.png"]["verdict"] == "inconclusive"


def test_watermark_decoder_needs_no_library_and_matches_it(tmp_path):
    """The decoder runs on PyWavelets alone (invisible-watermark requires torch); its YUV
    conversion, scales and per-payload bits are those of the library and OpenCV."""
    cv2 = pytest.importorskip("cv2")
    from imwatermark import WatermarkDecoder, WatermarkEncoder
    from imwatermark.maxDct import EmbedMaxDct
    from PIL import Image

    from realorai.provenance.watermark import PAYLOADS, SCALES, agreements, rgb_to_yuv

    assert tuple(EmbedMaxDct(watermarks=[], wmLen=1)._scales) == SCALES
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (256, 320, 3), dtype=np.uint8)
    assert np.array_equal(rgb_to_yuv(rgb), cv2.cvtColor(np.ascontiguousarray(rgb[:, :, ::-1]), cv2.COLOR_BGR2YUV))
    photo = np.asarray(Image.fromarray(skdata.astronaut()).resize((320, 256)))
    bgr = np.ascontiguousarray(photo[:, :, ::-1])
    enc = WatermarkEncoder()
    enc.set_watermark("bytes", b"SDV2")
    marked = enc.encode(bgr, "dwtDct")
    for image in (bgr, marked):
        theirs = WatermarkDecoder("bytes", 32).decode(image, "dwtDct")
        expected = float((np.unpackbits(np.frombuffer(theirs, np.uint8)) == PAYLOADS["SDV2"]).mean())
        assert agreements(Image.fromarray(np.ascontiguousarray(image[:, :, ::-1])))["SDV2"] == expected
