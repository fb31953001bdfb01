"""``realorai adapt``: a head adapted to one source from a few examples, on tiny generated images."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_dataset, smooth_image
from PIL import Image
from typer.testing import CliRunner

from realorai.cli.main import app
from realorai.detector.adapt import Examples, LinearHead, cross_validate, fit_toward, grouped_folds

runner = CliRunner()


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """One toy "source": smooth images are AI, noisy ones real (12 a class, 96 px)."""
    return make_dataset(tmp_path_factory.mktemp("adapt") / "source", per_class=12, size=96)


@pytest.fixture(scope="module")
def adapted(source, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("adapted") / "model"
    result = runner.invoke(app, ["adapt", str(source), "-o", str(out), "--name", "toy source", "-q", "--views", "2"])
    assert result.exit_code == 0, result.output
    assert "cross-validated" in result.output and "ROC-AUC" in result.output
    return out


def test_adapt_writes_a_small_self_describing_model(adapted):
    from realorai.models.checkpoint import load_adapted

    path = adapted / "adapted.safetensors"
    assert path.stat().st_size < 1_000_000
    arrays, meta = load_adapted(adapted)
    info = meta["adapted"]
    assert info["examples"]["ai"] == info["examples"]["real"] == 12 and len(info["examples"]["fingerprint"]) == 64
    assert info["what"] == "toy source" and info["base"]["source"] == "shipped"
    assert info["cross_validation"]["roc_auc"] > 0.9 and len(meta["seen_sha256_prefixes"]) == 24
    assert meta["reliability"]["tiers"]["scope"] == "held-out examples of the source it was adapted to"
    report = json.loads((adapted / "adapt_report.json").read_text())
    assert report["warnings"] == [] or all("too few" not in w for w in report["warnings"])
    assert "toy source" in (adapted / "MODEL_CARD.md").read_text()
    assert len(pd.read_csv(adapted / "examples.csv")) == 24


def test_the_adapted_model_loads_everywhere_a_model_does(adapted, tmp_path):
    from fastapi.testclient import TestClient

    from realorai import Detector
    from realorai.serve import ServeSettings, create_app

    smooth_image(501, 96).save(tmp_path / "new_ai.png")
    smooth_image(1501, 96, noise=25.0).save(tmp_path / "new_real.png")
    det = Detector.load(adapted)
    rows = det.predict([str(tmp_path / "new_ai.png"), str(tmp_path / "new_real.png")])
    assert rows[0]["p_ai"] > rows[1]["p_ai"]
    assert "held-out examples of the source" in rows[0]["reliability"]
    result = runner.invoke(app, ["predict", str(tmp_path / "new_ai.png"), "--model", str(adapted), "--json", "-q"])
    assert result.exit_code == 0 and json.loads(result.output)["p_ai"] == pytest.approx(rows[0]["p_ai"], abs=1e-6)
    with TestClient(create_app(ServeSettings(model=str(adapted))), base_url="http://127.0.0.1") as client:
        body = client.post("/v1/detect", files=[("files", ("a.png", (tmp_path / "new_ai.png").read_bytes()))]).json()
        assert body["results"][0]["p_ai"] == pytest.approx(rows[0]["p_ai"], abs=1e-6)
        assert client.get("/v1/models").json()["models"][0]["tiers"]["scope"].startswith("held-out")
    heat = det.predict(str(tmp_path / "new_ai.png"))  # one path in, one row out
    assert isinstance(heat, dict)


def test_folds_keep_groups_together_and_classes_in_every_fold():
    y = np.array([0] * 10 + [1] * 10)
    groups = np.array([f"g{i // 2}" for i in range(20)])  # pairs of near-duplicates
    fold = grouped_folds(y, groups, 3, seed=1)
    for g in np.unique(groups):
        assert len(set(fold[groups == g])) == 1
    for f in range(3):
        assert set(y[fold == f]) == {0, 1}


def test_near_duplicates_never_straddle_cross_validation_folds():
    """A copy of a held-out image in the training folds would inflate the estimate: with every
    example duplicated, an ungrouped CV sees each image's twin and scores 1.0 on noise; grouped,
    it is near chance."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 60))  # more features than images: a linear head can memorise them
    y = np.array([0, 1] * 10)
    x2 = np.concatenate([x, x + 1e-3 * rng.normal(size=x.shape)])
    y2 = np.concatenate([y, y])
    prior = LinearHead(np.zeros(60), np.ones(60), np.zeros(60), 0.0)
    twins = np.concatenate([np.arange(20), np.arange(20)]).astype(str)
    grouped = cross_validate(Examples(x2, y2, twins, np.ones(40, bool)), prior, lambdas=(1e-3,))
    alone = cross_validate(Examples(x2, y2, np.arange(40).astype(str), np.ones(40, bool)), prior, lambdas=(1e-3,))
    assert grouped.by_lam[1e-3] < 0.8 < alone.by_lam[1e-3]


def test_the_pull_toward_the_prior():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 3))
    y = (x[:, 0] > 0).astype(int)
    prior = LinearHead(np.zeros(3), np.ones(3), np.array([0.0, 0.0, 5.0]), 0.0)
    strong = fit_toward(x, y, prior, lam=1e4)
    weak = fit_toward(x, y, prior, lam=1e-4)
    assert np.allclose(strong.w, prior.w, atol=0.05)
    assert weak.w[0] > 1 and abs(weak.w[2]) < abs(prior.w[2])


def test_warnings_for_few_duplicated_and_one_format_examples(tmp_path):
    root = tmp_path / "few"
    for i in range(4):
        (root / "ai").mkdir(parents=True, exist_ok=True)
        (root / "real").mkdir(parents=True, exist_ok=True)
        smooth_image(i, 96).save(root / "ai" / f"a{i}.png")
        smooth_image(1000 + i, 96, noise=25.0).save(root / "real" / f"r{i}.jpg", quality=95)
    Image.open(root / "ai" / "a0.png").save(root / "ai" / "a0-copy.png", compress_level=1)  # same pixels: a duplicate
    smooth_image(0, 96).resize((95, 95)).save(root / "ai" / "a0-near.png")  # a near-duplicate
    result = runner.invoke(app, ["adapt", str(root), "-o", str(tmp_path / "m"), "-q", "--views", "0"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "too few examples" in text and "near-duplicates" in text and "format shortcut" in text
    assert "every AI example is PNG and every real one JPEG" in text


def test_one_class_or_no_output_is_a_usage_error(tmp_path, source):
    assert runner.invoke(app, ["adapt", str(source)]).exit_code == 2
    result = runner.invoke(app, ["adapt", "--ai", str(source / "ai"), "-o", str(tmp_path / "m"), "-q"])
    assert result.exit_code == 2 and "both classes" in result.output


def test_examples_labelled_by_verified_provenance(tmp_path, source):
    pytest.importorskip("c2pa")
    from c2pa_fixtures import make_ca_and_signer, sign_image

    ca_pem, signer = make_ca_and_signer("adapt tests")
    (tmp_path / "ca.pem").write_text(ca_pem)
    signed = tmp_path / "incoming"
    signed.mkdir()
    for i in range(4):
        sign_image(signed / f"gen{i}.jpg", signer, "trainedAlgorithmicMedia", seed=20 + i)
    shutil.copy(source / "ai" / "ai_000.png", signed / "stripped.png")  # no credential: to be scored
    scan = tmp_path / "scan.jsonl"
    trust = ["--c2pa-trust", str(tmp_path / "ca.pem")]
    assert runner.invoke(app, ["predict", str(signed), "-o", str(scan), "-q", *trust]).exit_code == 0
    out = tmp_path / "from-evidence"
    args = ["adapt", "--from-evidence", str(scan), "--real", str(source / "real"), "-o", str(out), "-q", *trust]
    result = runner.invoke(app, [*args, "--views", "1"])
    assert result.exit_code == 0, result.output
    examples = pd.read_csv(out / "examples.csv")
    proven = examples[examples["origin"].str.startswith("verified C2PA")]
    assert len(proven) == 4 and set(proven["label"]) == {"ai"}
    scored = [json.loads(line) for line in (out / "scored.jsonl").read_text().splitlines()]
    assert [Path(r["path"]).name for r in scored] == ["stripped.png"]


def test_the_kshot_benchmark_never_trains_on_what_it_scores():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from kshot import draw

    df = pd.DataFrame({"y": [0] * 30 + [1] * 30, "group": [f"g{i // 3}" for i in range(60)]})
    for seed in range(5):
        train, test = draw(df, 5, seed)
        assert len(train) == 10 and not set(df.loc[train, "group"]) & set(df.loc[test, "group"])
        assert not set(train) & set(test)


def test_jpeg_quality_and_size_shortcuts_are_named_only_when_they_separate_the_classes():
    from realorai.inference.adapt_report import shortcut_warnings

    def frame(q_ai, q_real, side_ai, side_real):
        rows = [("ai", q, s) for q, s in zip(q_ai, side_ai, strict=True)]
        rows += [("real", q, s) for q, s in zip(q_real, side_real, strict=True)]
        return pd.DataFrame([{"label": lab, "format": "JPEG", "jpeg_quality": q, "width": s, "height": s}
                             for lab, q, s in rows])  # fmt: skip

    apart = " ".join(shortcut_warnings(frame([95, 95], [86, 92], [1024, 1024], [512, 800])))
    assert "JPEG quality shortcut" in apart and "q95-95" in apart and "q86-92" in apart
    assert "size shortcut" in apart and "format shortcut" not in apart  # one format: no format shortcut
    assert shortcut_warnings(frame([95, 88], [86, 92], [1024, 600], [512, 800])) == []  # overlapping: nothing
