"""Hardening, round 4 (issue 28): adaptation trusts nothing it cannot check, crafted models are
refused naming the file and the field, and the Python API takes images as users hold them."""

from __future__ import annotations

import errno
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import make_dataset, smooth_image
from PIL import Image
from typer.testing import CliRunner

from realorai.cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("h4") / "source", per_class=12, size=96)


@pytest.fixture(scope="module")
def adapted(source, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("h4model") / "model"
    result = runner.invoke(app, ["adapt", str(source), "-o", str(out), "-q", "--views", "1"])
    assert result.exit_code == 0, result.output
    return out


def crafted(adapted: Path, into: Path, edit=None, arrays_edit=None) -> Path:
    """A copy of the adapted model with its metadata (or arrays) edited, as a hostile user would."""
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    src = adapted / "adapted.safetensors"
    with safe_open(str(src), framework="numpy") as f:
        meta = json.loads(f.metadata()["realorai"])
    arrays = load_file(str(src))
    if edit:
        edit(meta)
    if arrays_edit:
        arrays_edit(arrays)
    into.mkdir(parents=True)
    save_file(arrays, str(into / "adapted.safetensors"), metadata={"realorai": json.dumps(meta)})
    return into


def _tiers(**kw):
    return lambda m: m["reliability"]["tiers"].update(kw)


CRAFTED = {
    "bounds_out_of_range": (_tiers(likely_ai_from=-5, likely_real_below=7), "reliability.tiers.likely_ai_from"),
    "bounds_swapped": (_tiers(likely_ai_from=0.3, likely_real_below=0.7), "reliability.tiers.likely_real_below"),
    "bounds_nan": (_tiers(likely_ai_from=float("nan")), "reliability.tiers.likely_ai_from"),
    "bound_text": (_tiers(likely_real_below="<script>"), "reliability.tiers.likely_real_below"),
    "platt_a_nan": (lambda m: m["adapted"]["platt"].update(a=float("nan")), "adapted.platt.a"),
    "platt_b_inf": (lambda m: m["adapted"]["platt"].update(b=float("inf")), "adapted.platt.b"),
    "head_b_text": (lambda m: m["adapted"].update(b="x"), "adapted.b"),
    "threshold_2": (lambda m: m.update(threshold=2.0), "threshold"),
    "std_zero": (lambda m: m["data_config"].update(std=[0, 1, 1]), "data_config.std[0]"),
}


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_a_crafted_checkpoint_is_refused_naming_the_file_and_field(adapted, source, tmp_path, name):
    edit, field = CRAFTED[name]
    model = crafted(adapted, tmp_path / name, edit)
    result = runner.invoke(app, ["predict", str(source / "real" / "real_000.png"), "--model", str(model), "--json"])
    assert result.exit_code == 2, result.output
    assert "adapted.safetensors" in result.output and repr(field) in result.output
    assert "unexpected" not in result.output


def test_a_head_of_the_wrong_shape_is_refused(adapted, source, tmp_path):
    model = crafted(adapted, tmp_path / "shape", arrays_edit=lambda a: a.update(w=np.ones(7)))
    result = runner.invoke(app, ["predict", str(source / "real"), "--model", str(model), "-q"])
    assert result.exit_code == 2 and "vectors of one length" in result.output


def test_a_row_without_a_score_is_never_a_success(adapted, source, monkeypatch):
    from realorai import Detector

    det = Detector.load(adapted)
    monkeypatch.setattr(det.model, "crop_logits", lambda crops: np.full(len(crops), np.nan, np.float32))
    row = det.predict(str(source / "real" / "real_000.png"))
    assert row["verdict"] == "error" and "no finite P(AI)" in row["error"]


def test_junk_given_as_a_model_or_base_is_a_plain_error(source, tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(np.random.default_rng(0).bytes(5000))
    for args in (["predict", str(source / "ai"), "--model", str(junk)],
                 ["adapt", str(source), "-o", str(tmp_path / "m"), "--base", str(junk)]):  # fmt: skip
        result = runner.invoke(app, [*args, "-q"])
        assert result.exit_code == 2 and str(junk) in result.output and "unexpected" not in result.output
    nested = tmp_path / "nested.safetensors"
    header = json.dumps({"__metadata__": {"realorai": "[" * 100_000}}).encode()
    nested.write_bytes(len(header).to_bytes(8, "little") + header)
    result = runner.invoke(app, ["predict", str(source / "ai"), "--model", str(nested), "-q"])
    assert result.exit_code == 2 and "unexpected" not in result.output


def test_base_checked_before_any_feature_work(adapted, source, tmp_path, monkeypatch):
    import realorai.inference.adapt as adapt_mod

    monkeypatch.setattr(adapt_mod, "image_features", lambda *a, **k: pytest.fail("feature work before the check"))
    onnx = tmp_path / "d.onnx"
    assert runner.invoke(app, ["export", "onnx", "-o", str(onnx)]).exit_code == 0
    for base, said in ((adapted, "an adapted head"), (onnx, "not a safetensors checkpoint")):
        result = runner.invoke(app, ["adapt", str(source), "-o", str(tmp_path / f"o{len(said)}"), "--base", str(base)])
        assert result.exit_code == 2 and said in result.output, result.output


def _scan_of(rows: list, path: Path) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_from_evidence_reverifies_every_claim(source, tmp_path):
    forged = [{"schema_version": 2, "path": str(source / "real" / f"real_{i:03d}.png"), "verdict": "ai",
               "basis": "provenance", "findings": []} for i in range(12)]  # fmt: skip
    scan = _scan_of(forged, tmp_path / "forged.jsonl")
    out = tmp_path / "m"
    result = runner.invoke(app, ["adapt", "--from-evidence", str(scan), "--real", str(source / "real"), "-o", str(out)])
    assert result.exit_code == 2, result.output  # nothing verifies: no AI examples are left
    assert "0 examples labelled by verified provenance" in result.output
    assert "12 rows of the scan left out" in result.output and "carries no content credential" in result.output
    assert not (out / "examples.csv").exists()


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("[1,2]", "must be a JSON object"),
        ("[" * 100_000, "not a JSON row"),
        ('{"a":1}', "not a row of a realorai scan"),
    ],  # fmt: skip
)
def test_bad_scan_rows_name_the_file_and_line(source, tmp_path, line, said):
    good = {"schema_version": 2, "path": "x.png", "verdict": "inconclusive", "basis": "pixels", "findings": []}
    scan = _scan_of([good, line], tmp_path / "bad.jsonl")
    result = runner.invoke(app, ["adapt", "--from-evidence", str(scan), "-o", str(tmp_path / "m")])
    assert result.exit_code == 2 and f"{scan}:2" in result.output.replace("\n", "") and said in result.output


def test_missing_and_unreadable_examples_are_said_on_the_terminal(source, tmp_path):
    examples = tmp_path / "ex"
    make_dataset(examples, per_class=12, size=96)
    (examples / "ai" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nxxxx")
    (examples / "ai" / os.fsdecode(b"caf\xe9.png")).write_bytes((examples / "ai" / "ai_000.png").read_bytes())
    result = runner.invoke(app, ["adapt", str(examples), "-o", str(tmp_path / "m"), "-q", "--views", "0"])
    assert result.exit_code == 0, result.output  # a name that is not UTF-8 no longer aborts adapt
    assert "2 examples left out" in result.output and "broken.png" in result.output
    assert "not valid UTF-8" in result.output
    rows = [{"schema_version": 2, "path": str(tmp_path / "gone.png"), "verdict": "ai", "basis": "provenance",
             "findings": []}]  # fmt: skip
    scan = _scan_of(rows, tmp_path / "gone.jsonl")
    result = runner.invoke(app, ["adapt", str(examples), "--from-evidence", str(scan), "-o", str(tmp_path / "m2")])
    assert "gone.png (the scan says ai): file not found" in result.output.replace("\n", "")


def test_views_are_bounded_and_outputs_never_silently_replaced(adapted, source, tmp_path, monkeypatch):
    result = runner.invoke(app, ["adapt", str(source), "-o", str(tmp_path / "v"), "--views", "100000"])
    assert result.exit_code == 2 and "--views must be 0 to 16" in result.output
    before = (adapted / "adapted.safetensors").read_bytes()
    result = runner.invoke(app, ["adapt", str(source), "-o", str(adapted), "-q", "--views", "0"])
    assert result.exit_code == 2 and "--overwrite" in result.output
    assert (adapted / "adapted.safetensors").read_bytes() == before
    (tmp_path / "afile").write_text("x")
    result = runner.invoke(app, ["adapt", str(source), "-o", str(tmp_path / "afile")])
    assert result.exit_code == 2 and "is a file" in result.output

    def read_only(*a, **k):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr("realorai.inference.adapt.save_adapted", read_only)
    result = runner.invoke(app, ["adapt", str(source), "-o", str(tmp_path / "ro"), "-q", "--views", "0"])
    assert result.exit_code == 3 and "Read-only file system" in result.output and "unexpected" not in result.output


def test_a_signed_capture_whose_own_metadata_says_ai_is_inconclusive(tmp_path):
    pytest.importorskip("c2pa")
    from c2pa_fixtures import make_ca_and_signer, sign_jpeg

    from realorai import Detector
    from realorai.provenance.iptc import IPTC

    ca_pem, signer = make_ca_and_signer("h4 tests")
    (tmp_path / "ca.pem").write_text(ca_pem)
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        b'Iptc4xmpExt:DigitalSourceType="' + IPTC.encode() + b'trainedAlgorithmicMedia"/></rdf:RDF></x:xmpmeta>'
    )
    for name, dst, with_xmp in (("both.jpg", "digitalCapture", True), ("ai.jpg", "trainedAlgorithmicMedia", False)):
        buf = io.BytesIO()
        smooth_image(3, 128, noise=10).save(buf, "JPEG", quality=92, **({"xmp": xmp} if with_xmp else {}))
        sign_jpeg(buf.getvalue(), tmp_path / name, signer, dst)
    det = Detector.default()
    row = det.predict(str(tmp_path / "both.jpg"), c2pa_trust=str(tmp_path / "ca.pem"))
    assert row["verdict"] == "inconclusive" and row["basis"] == "provenance", row
    assert "contradict" in row["why"] and "trainedAlgorithmicMedia" in row["why"]
    row = det.predict(str(tmp_path / "ai.jpg"), c2pa_trust=str(tmp_path / "ca.pem"))
    assert row["verdict"] == "ai" and row["basis"] == "provenance"


def test_head_is_served_wherever_get_is_and_unterminated_quotes_are_dropped():
    from fastapi.testclient import TestClient

    from realorai import Detector
    from realorai.serve import ServeSettings, create_app
    from realorai.serve.uploads import file_name

    with TestClient(create_app(ServeSettings(), Detector.default()), base_url="http://127.0.0.1") as client:
        for path in ("/", "/healthz", "/readyz", "/v1/models", "/docs", "/openapi.json"):
            get, head = client.get(path), client.head(path)
            assert head.status_code == get.status_code == 200, path
            assert head.content == b"" and head.headers.get("content-length") == get.headers.get("content-length")
        assert client.head("/v1/detect").status_code == 405
    assert file_name(b'form-data; name="files"; filename="a.png') == "a.png"
    assert file_name(b'form-data; name="files"; filename="b.png"') == "b.png"


def test_the_python_api_takes_images_as_users_hold_them(source, tmp_path):
    from realorai import Detector

    det = Detector.default()
    path = source / "ai" / "ai_000.png"
    data = path.read_bytes()
    img = Image.open(path)
    want = det.predict(str(path))
    inputs = {"bytes": data, "stream": io.BytesIO(data), "pil": img, "array": np.asarray(img.convert("RGB"))}
    for kind, item in inputs.items():
        row = det.predict(item)
        assert isinstance(row, dict) and row["p_ai"] == pytest.approx(want["p_ai"], abs=1e-6), kind
    assert "decoded image" in det.predict(img)["why"] and "decoded image" not in det.predict(data)["why"]
    assert any(f["source"] == "input" for f in det.predict(np.asarray(img))["findings"])
    bad = det.predict(np.zeros((4, 4), np.float64))
    assert bad["verdict"] == "error" and "uint8" in bad["error"]
    assert "not a recognised image format" in det.predict(b"not an image")["error"]
    rows = det.predict([data, str(source / "real"), img])
    assert len(rows) == 14 and rows[0]["path"] == "<bytes 0>" and rows[-1]["path"].startswith("<PIL image 2")


def test_the_python_api_holds_the_pixel_limit_for_arrays(monkeypatch):
    from realorai import Detector, limits

    det = Detector.default()
    before = limits.current()
    limits.set_limits(max_pixels=10_000)
    try:
        row = det.predict(np.zeros((200, 200, 3), np.uint8))
    finally:
        limits.set_limits(before.max_pixels, before.max_decoded_bytes)
    assert row["verdict"] == "error" and "over the limit" in row["error"]


def test_data_scan_records_the_size_the_file_declares(tmp_path):
    from realorai.data.manifest import probe

    smooth_image(5, 300).resize((1200, 900)).save(tmp_path / "big.jpg")  # larger than the 256-px draft
    row = probe(tmp_path / "big.jpg")
    assert (row["width"], row["height"]) == (1200, 900) and row["pdq"]
