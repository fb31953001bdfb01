"""First use (issue 29): what a new user sees on the terminal and in the rows."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import smooth_image

from realorai.inference.analyze import named_as


def _run(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "realorai", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)  # fmt: skip


def test_progress_goes_to_stderr_and_nothing_counts_to_zero(tmp_path):
    smooth_image(1, 96).save(tmp_path / "a.png")
    smooth_image(2, 96).save(tmp_path / "b.png")
    (tmp_path / "empty").mkdir()
    r = _run("predict", "a.png", "b.png", "--heatmaps", "hm", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "2/2" not in r.stdout and "a.png" in r.stdout  # the table alone on stdout: `> out.txt` holds no bars
    assert "score" in r.stderr and "2/2" in r.stderr
    assert "heatmaps: 2 overlay PNGs written to hm" in r.stderr and len(list((tmp_path / "hm").glob("*.png"))) == 2
    r = _run("predict", "empty", "missing.png", cwd=tmp_path)
    assert r.returncode == 3 and "0/0" not in r.stdout + r.stderr


def test_a_file_named_for_another_format_gets_a_note():
    assert named_as("photo.png", "JPEG")[0].what.startswith("named .png but the content is JPEG")
    assert named_as("photo.JPG", "JPEG") == [] and named_as("photo.jpg", "MPO") == []
    assert named_as("upload", "PNG") == [] and named_as("x.xyz", "PNG") == []  # no extension claims nothing


def test_inspect_manifest_gives_the_validated_store(tmp_path):
    pytest.importorskip("c2pa")
    from c2pa_fixtures import make_ca_and_signer, sign_image

    ca_pem, signer = make_ca_and_signer("manifest tests")
    (tmp_path / "ca.pem").write_text(ca_pem)
    sign_image(tmp_path / "signed.png", signer, "trainedAlgorithmicMedia")  # a JPEG under a .png name
    smooth_image(2, 96).save(tmp_path / "plain.png")
    r = _run("inspect", "signed.png", "plain.png", "--manifest", "--json", "--c2pa-trust", "ca.pem", cwd=tmp_path)
    rows = {row["path"].split("/")[-1]: row for row in map(json.loads, r.stdout.splitlines())}
    store = rows["signed.png"]["manifest_store"]
    assert store["validation_state"] == "Trusted" and store["active_manifest"] in store["manifests"]
    actions = json.dumps(store["manifests"][store["active_manifest"]]["assertions"])
    assert "trainedAlgorithmicMedia" in actions
    assert rows["plain.png"]["manifest_store"] is None
    assert any(f["what"].startswith("named .png but the content is JPEG") for f in rows["signed.png"]["findings"])
    r = _run("inspect", "signed.png", "--manifest", "--c2pa-trust", "ca.pem", cwd=tmp_path)
    assert "manifest store:" in r.stdout and '"validation_state": "Trusted"' in r.stdout
    assert _run("inspect", "signed.png", "--manifest", "--csv", cwd=tmp_path).returncode == 2


def test_roc_auc_interval_covers_the_figure_and_narrows_with_more_images():
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from realorai.metrics import roc_auc_interval

    rng = np.random.default_rng(0)
    widths = []
    for n in (100, 1000):
        y = rng.integers(0, 2, n)
        s = y * 0.8 + rng.normal(0, 1, n)
        lo, hi = roc_auc_interval(y, s)
        assert lo < roc_auc_score(y, s) < hi
        widths.append(hi - lo)
    assert 0.1 < widths[0] < 0.3 and widths[1] < widths[0] / 2.5  # +-0.1 at 100 images; ~1/sqrt(n)
    assert np.isnan(roc_auc_interval(np.zeros(5), np.arange(5))[0])
    assert roc_auc_interval([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == (1.0, 1.0)


def test_the_model_card_page_works_offline():
    from fastapi.testclient import TestClient

    from realorai.inference.detector import Detector
    from realorai.serve import ServeSettings, create_app

    with TestClient(create_app(ServeSettings(), Detector.default()), base_url="http://127.0.0.1") as c:
        page = c.get("/").text
        assert 'href="/model"' in page
        card = c.get("/model")
        assert card.status_code == 200 and "Model card: detector-" in card.text
        assert "none (no such tier)" in card.text and "art500" in card.text  # what the checkpoint carries
        assert "Content-Security-Policy" in card.headers
