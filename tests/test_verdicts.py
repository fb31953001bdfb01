"""One verdict per image in every front end: a verified C2PA credential decides it (CLI JSON and
CSV, the Python API, the HTTP API; the page is in test_page.py), exit codes, --overwrite, the
OpenAPI body, flags shown as flags, and what an empty folder says."""

from __future__ import annotations

import csv
import io
import json

import pytest
from conftest import smooth_image
from typer.testing import CliRunner

from realorai.cli.main import app
from realorai.inference.rows import KEYS

pytest.importorskip("c2pa")
pytest.importorskip("cryptography")
runner = CliRunner()


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    """(a JPEG signed by a test CA declaring generative AI, the CA as a PEM trust list)."""
    from c2pa_fixtures import make_ca_and_signer, sign_image

    root = tmp_path_factory.mktemp("signed")
    ca_pem, signer = make_ca_and_signer("verdict tests")
    image = root / "generated.jpg"
    sign_image(image, signer, "trainedAlgorithmicMedia")
    trust = root / "ca.pem"
    trust.write_text(ca_pem)
    return image, trust


def test_cli_json_and_csv_rows_are_decided_by_the_credential(signed):
    image, trust = signed
    result = runner.invoke(app, ["predict", str(image), "--c2pa-trust", str(trust), "--json", "-q"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.output)
    assert tuple(row) == KEYS and row["schema_version"] == 3
    assert row["verdict"] == "ai" and row["basis"] == "provenance" and row["reliability"] == ""
    assert row["tier"] in ("likely_ai", "inconclusive", "likely_real")  # the pixels' own say, kept apart
    assert "verified content credential" in row["why"]
    result = runner.invoke(app, ["predict", str(image), "--c2pa-trust", str(trust), "--csv", "-q"])
    (flat,) = csv.DictReader(io.StringIO(result.output))
    assert flat["verdict"] == "ai" and flat["basis"] == "provenance"
    assert not any("verdict" in k for k in flat if k != "verdict")  # no second verdict field
    # The same file, its signer not trusted: the credential is a claim, the pixels decide.
    result = runner.invoke(app, ["predict", str(image), "--json", "-q"])
    row = json.loads(result.output)
    assert row["basis"] == "pixels" and row["verdict"] == row["tier"]
    # --pixels-only does not read it at all.
    result = runner.invoke(app, ["predict", str(image), "--c2pa-trust", str(trust), "--json", "--pixels-only"])
    row = json.loads(result.output)
    assert row["basis"] == "pixels" and row["findings"] is None and "--pixels-only" in row["why"]


def test_python_api_is_decided_by_the_credential(signed):
    from realorai import Detector

    image, trust = signed
    row = Detector.default().predict(image, c2pa_trust=str(trust))
    assert row["verdict"] == "ai" and row["basis"] == "provenance"


def test_http_api_is_decided_by_the_credential_and_every_row_has_every_key(signed):
    from fastapi.testclient import TestClient

    from realorai.inference.detector import Detector
    from realorai.serve import ServeSettings, create_app

    image, trust = signed
    app_ = create_app(ServeSettings(c2pa_trust=str(trust)), Detector.default())
    with TestClient(app_, base_url="http://127.0.0.1") as client:
        files = [
            ("files", ("generated.jpg", image.read_bytes(), "image/jpeg")),
            ("files", ("notes.txt", b"plain text, not an image", "text/plain")),
        ]
        response = client.post("/v1/detect", files=files)
        body = response.json()
    assert response.status_code == 200, body
    good, bad = body["results"]
    assert good["verdict"] == "ai" and good["basis"] == "provenance" and good["error_status"] is None
    assert bad["verdict"] == "error" and bad["error_status"] == 415
    assert set(good) == set(bad) == {*KEYS, "error_status"}


def test_openapi_documents_the_file_body_rows_and_errors():
    from realorai.inference.detector import Detector
    from realorai.serve import ServeSettings, create_app

    schema = create_app(ServeSettings(), Detector.default()).openapi()
    post = schema["paths"]["/v1/detect"]["post"]
    files = post["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]["files"]
    assert files["items"]["format"] == "binary"
    assert {"200", "400", "413", "415", "422"} <= set(post["responses"])
    row = schema["components"]["schemas"]["Row"]["properties"]
    assert set(KEYS) <= set(row) and "ErrorBody" in schema["components"]["schemas"]


def test_exit_codes_and_empty_folders(tmp_path):
    good, bad = tmp_path / "good.png", tmp_path / "bad.png"
    smooth_image(1, 64).save(good)
    bad.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    assert runner.invoke(app, ["predict", str(good), "-q", "--pixels-only"]).exit_code == 0
    assert runner.invoke(app, ["predict", str(good), str(bad), "-q", "--pixels-only"]).exit_code == 1
    assert runner.invoke(app, ["predict", str(bad), "-q"]).exit_code == 3
    assert runner.invoke(app, ["inspect", str(good), str(bad), "-q"]).exit_code == 1
    assert runner.invoke(app, ["predict", str(good), "--batch-size", "0"]).exit_code == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["predict", str(empty), "-q", "--json"])
    assert result.exit_code == 3 and "no image files in this folder (it is empty)" in result.output
    (empty / "notes.txt").write_text("x")
    (empty / "data.csv").write_text("x")
    result = runner.invoke(app, ["predict", str(empty), "-q", "--json"])
    row = json.loads(next(x for x in result.output.splitlines() if x.startswith("{")))
    assert result.exit_code == 3 and "2 other files skipped" in row["error"]
    result = runner.invoke(app, ["predict", str(tmp_path), "-q", "--pixels-only", "--verbose"])
    assert "2 files without an image extension skipped:" in result.output and "notes.txt" in result.output
    assert runner.invoke(app, ["data", "scan", str(empty), "-o", str(tmp_path / "m.parquet")]).exit_code == 3
    assert not (tmp_path / "m.parquet").exists()
    assert runner.invoke(app, ["predict", "", "-q"]).exit_code == 3  # an empty argument is not the current folder


def test_overwrite_a_finished_scan(tmp_path):
    smooth_image(1, 64).save(tmp_path / "a.png")
    out = tmp_path / "out" / "r.csv"
    args = ["predict", str(tmp_path / "a.png"), "-o", str(out), "-q", "--pixels-only"]
    assert runner.invoke(app, args).exit_code == 0
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "--overwrite" in again.output and "finished scan" in again.output
    smooth_image(2, 64).save(tmp_path / "b.png")
    args[1:2] = [str(tmp_path / "a.png"), str(tmp_path / "b.png")]
    assert runner.invoke(app, [*args, "--overwrite"]).exit_code == 0
    assert len(list(csv.DictReader(out.open()))) == 2


@pytest.mark.parametrize("command", [["predict"], ["inspect"], ["data", "scan"], ["serve"], ["--help"][:0]])
def test_flags_are_shown_as_flags(command):
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "<bool>" not in result.output, result.output
    if command == ["predict"]:
        assert "--pixels-only " in result.output and "--evidence" not in result.output  # hidden, still accepted


def test_the_table_shows_names_below_the_folder_they_share(tmp_path, monkeypatch):
    from realorai.cli.common import out
    from realorai.cli.render import common_folder

    assert common_folder(["d/a/x.png", "d/b/y.png"]) == "d"
    assert common_folder(["d/x.png"]) == ""  # one row: its whole path
    assert common_folder(["/abs/x.png", "rel/y.png"]) == ""
    assert common_folder(["dx/a.png", "d/b.png"]) == ""  # a shared prefix is not a shared folder
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        smooth_image(32, 32).save(tmp_path / sub / f"{sub}.png")
    monkeypatch.setattr(out, "width", 200)  # a wide terminal: nothing folded
    result = runner.invoke(app, ["predict", str(tmp_path), "--pixels-only"])
    assert result.exit_code == 0, result.output
    assert f"file (in {tmp_path}/)" in result.output and "│ a/a.png" in result.output
    assert "note" in result.output  # the small images' upsampling note


def test_without_tiers_the_sentences_say_where_reliability_was_measured():
    """The shipped model's tiers are measured on unseen sources, an adapted head's on its own
    examples: the row's why and the table's caption say which, never the other."""
    from realorai.cli.render import table_note, tiers_caption
    from realorai.inference.rows import make_row
    from realorai.tiers import Tiers

    shipped = make_row("a.jpg", 0.7, Tiers(available=True, best_ai=0.6, best_real=0.6), findings=[])
    adapted_scope = "held-out examples of the source it was adapted to"
    adapted = make_row(
        "a.jpg", 0.7, Tiers(available=True, best_ai=0.8, best_real=0.7, scope=adapted_scope), findings=[]
    )
    assert "reliable on unseen sources" in shipped["why"] and "sources it never saw" in tiers_caption([shipped])
    assert f"reliable on {adapted_scope}" in adapted["why"] and "unseen" not in adapted["why"]
    assert f"right 90% of the time on {adapted_scope}" in tiers_caption([adapted])
    assert "reliable on" not in table_note(adapted)  # the caption says it once, not every row
