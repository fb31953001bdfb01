"""The detector end to end on generated data: training, the Python API, the CLI, the benchmark."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_dataset, smooth_image
from PIL import Image
from typer.testing import CliRunner

from realorai.cli.main import app
from realorai.detector.fit import DetectorConfig, fit_detector

runner = CliRunner()
MODEL = "detector-lite0-multiscale"


@pytest.fixture(scope="session")
def detector_run(tmp_path_factory) -> Path:
    root = make_dataset(tmp_path_factory.mktemp("det") / "toy", per_class=16, size=96)
    run = root.parent / "run"
    fit_detector(DetectorConfig(model=MODEL, data=(str(root),), views=1, workers=0), run, show_progress=False)
    return run


def test_fit_writes_a_self_describing_checkpoint(detector_run):
    from realorai.models.checkpoint import read_meta

    meta = read_meta(detector_run)
    assert meta["model"] == MODEL and meta["data_config"]["resize"] == "crops"
    assert meta["temperature"] > 0 and 0 <= meta["threshold"] <= 1
    # 16 per class, 10% validation: too few to choose a threshold, so 0.5 with the reason recorded.
    assert meta["threshold"] == 0.5 and "under 10 per class" in meta["threshold_source"]
    assert meta["n_val"] == {"real": 2, "ai": 2}
    assert len(meta["train_fingerprint"]) == 64
    summary = json.loads((detector_run / "train_summary.json").read_text())
    assert summary["test"]["all"]["n"] > 0
    assert (detector_run / "manifests" / "toy.parquet").is_file()


@pytest.fixture(scope="session")
def two_source_run(tmp_path_factory) -> Path:
    """A detector trained on two toy sources: its out-of-source folds can measure tiers."""
    base = tmp_path_factory.mktemp("det2")
    a = make_dataset(base / "one", per_class=24, size=96)
    b = make_dataset(base / "two", per_class=24, size=112)
    run = base / "run"
    cfg = DetectorConfig(model=MODEL, data=(str(a), str(b)), views=1, workers=0)
    fit_detector(cfg, run, show_progress=False, log=lambda m: None)
    return run


def test_detector_api_single_and_many(two_source_run, tmp_path):
    from realorai import Detector
    from realorai.models.checkpoint import read_meta

    rel = read_meta(two_source_run)["reliability"]
    assert rel["datasets"] == ["one", "two"] and rel["tiers"]["available"]
    assert (two_source_run / "out_of_source.csv").is_file()
    det = Detector.from_checkpoint(two_source_run)
    assert det.tiers.likely_ai_from is not None and det.tiers.likely_real_below is not None
    smooth_image(7, 96).save(tmp_path / "a.png")
    smooth_image(8, 96, noise=25).save(tmp_path / "b.png")
    row = det.predict(tmp_path / "a.png")
    assert row["verdict"] == "likely_ai" and row["basis"] == "pixels" and row["p_ai"] >= row["likely_ai_from"]
    assert "right" in row["reliability"] and row["findings"] == []  # provenance read by default: none found
    rows = det.predict([str(tmp_path / "a.png"), str(tmp_path / "b.png"), str(tmp_path / "missing.png")])
    assert [r["verdict"] for r in rows] == ["likely_ai", "likely_real", "error"]
    assert rows[0]["low_confidence"] and rows[2]["error"]  # 96 px is upsampled to the 224-px crop
    assert det.predict((str(tmp_path / "a.png"),))[0]["verdict"] == "likely_ai"  # a tuple is a list of paths
    assert det.predict(str(tmp_path / "a.png"), pixels_only=True)["findings"] is None


def test_a_single_source_model_says_its_pixel_verdicts_are_inconclusive(detector_run, tmp_path):
    from realorai import Detector

    det = Detector.from_checkpoint(detector_run)
    assert not det.tiers.available
    smooth_image(7, 96).save(tmp_path / "a.png")
    row = det.predict(tmp_path / "a.png")
    assert row["verdict"] == "inconclusive" and "two or more training datasets" in row["reliability"]


def test_tiers_compare_the_unrounded_score():
    from realorai.tiers import Tiers, tier_of

    t = Tiers(likely_ai_from=0.4999999, likely_real_below=0.2, available=True)
    assert tier_of(0.4999996, t) == "inconclusive"  # rounded to 6 places it would be 0.5 >= 0.4999999
    assert tier_of(0.4999999, t) == "likely_ai"
    assert tier_of(0.19999, t) == "likely_real" and tier_of(0.2, t) == "inconclusive"
    assert tier_of(None, t) is None and tier_of(float("nan"), t) is None


def test_predict_bad_inputs_get_rows(detector_run, tmp_path):
    good = tmp_path / "good.png"
    smooth_image(9, 300).save(good)
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.png").write_text("not an image")
    raw = good.read_bytes()
    (tmp_path / "truncated.png").write_bytes(raw[: len(raw) // 2])
    Image.new("RGB", (1, 1)).save(tmp_path / "tiny.png")
    Image.new("RGB", (1, 5000)).save(tmp_path / "strip.png")
    result = runner.invoke(app, ["predict", str(tmp_path), "--model", str(detector_run), "--json", "-q"])
    assert result.exit_code == 1, result.output  # some unreadable, the others scored
    rows = {Path(r["path"]).name: r for r in map(json.loads, result.output.strip().splitlines())}
    assert set(rows) == {"good.png", "empty.jpg", "text.png", "truncated.png", "tiny.png", "strip.png"}
    for name in ("empty.jpg", "text.png", "truncated.png"):
        assert rows[name]["verdict"] == "error" and rows[name]["error"], name
    for name in ("good.png", "tiny.png", "strip.png"):
        assert rows[name]["verdict"] == "inconclusive" and rows[name]["p_ai"] is not None, name
    assert {tuple(sorted(r)) for r in rows.values()} == {tuple(sorted(rows["good.png"]))}  # every row, every key
    assert rows["tiny.png"]["low_confidence"] and not rows["good.png"]["low_confidence"]


def test_predict_without_model_uses_shipped_detector(tmp_path):
    smooth_image(10, 256, noise=5).save(tmp_path / "x.png")
    result = runner.invoke(app, ["predict", str(tmp_path / "x.png"), "--json", "-q"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.output)
    assert row["verdict"] in ("likely_ai", "likely_real", "inconclusive") and 0.0 <= row["p_ai"] <= 1.0
    assert row["basis"] == "pixels" and row["findings"] == []


def test_default_detector_is_packaged():
    from realorai import Detector
    from realorai.inference.detector import default_weights
    from realorai.models.checkpoint import read_meta

    path = default_weights()
    assert path.stat().st_size <= 25 * 2**20
    meta = read_meta(path)
    assert meta["model"].startswith("detector-") and "playground100" not in meta["train_datasets"]
    det = Detector.default()
    assert det.threshold == meta["threshold"]
    result = runner.invoke(app, ["models"])
    assert "default" in result.output


def test_benchmark_tables_and_lodo_bookkeeping(tmp_path):
    a = make_dataset(tmp_path / "alpha", per_class=12, size=80)
    b = make_dataset(tmp_path / "beta", per_class=12, size=80)
    gens = pd.DataFrame({"file": [f"ai/ai_{i:03d}.png" for i in range(12)], "generator": ["g1", "g2"] * 6})
    gens.to_csv(a / "generators.csv", index=False)
    reals = make_dataset(tmp_path / "gamma", per_class=6, size=80)
    shutil.rmtree(reals / "ai")  # a real-only set: extra reals in every fold, false positives counted
    out = tmp_path / "bench"
    args = ["benchmark", str(a), str(b), str(reals), "-o", str(out), "--lodo", "--logo", "--lodo-model", MODEL]
    result = runner.invoke(app, [*args, "--robustness-limit", "8", "-q"])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "benchmark.json").read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))
    assert set(data["datasets"]) == {"alpha", "beta"}
    alpha = data["datasets"]["alpha"]
    assert alpha["as_is"]["n"] == 24 and set(alpha["per_generator"]) == {"g1", "g2"}
    assert set(alpha["robustness"]) >= {"as is", "JPEG q75", "downscale 0.5x", "blur sigma 1", "PNG re-save"}
    assert alpha["robustness"]["JPEG q75"]["n"] == 8
    assert 0 <= alpha["robustness"]["blur sigma 1"]["accuracy_real"] <= 1  # blurred reals are reals too
    # LODO: the left-out dataset's files are never in the training manifests of its fold.
    assert set(data["lodo"]) == {"alpha", "beta"}  # a real-only set is never a fold
    for left_out, other in (("alpha", "beta"), ("beta", "alpha")):
        assert data["lodo"][left_out]["trained_on"] == [other, "gamma"]
        fold = out / "lodo" / left_out / "manifests"
        trained = pd.concat(pd.read_parquet(f) for f in fold.glob("*.parquet"))
        assert not trained["path"].str.contains(f"/{left_out}/").any()
        assert trained["path"].str.contains(f"/{other}/|/gamma/").all()
    assert data["reals"]["gamma"]["n"] == 6 and 0 <= data["reals"]["gamma"]["fpr"] <= 1
    assert data["false_positives"]["reals"] == 12 + 12 + 6 and data["false_positives"]["ai"] == 24
    assert "metadata_auc" in alpha["shortcuts"] and "not JPEG" in alpha["shortcuts"]["jpeg_bands"]
    # LOGO inside alpha (two generators): each fold trains without its generator and its test reals.
    assert set(data["logo"]) == {"alpha"} and set(data["logo"]["alpha"]) == {"g1", "g2"}
    for g in ("g1", "g2"):
        fold = data["logo"]["alpha"][g]
        assert fold["test_ai"] == 6 and fold["test_real"] == 6
        trained = pd.read_parquet(out / "logo" / "alpha" / g / "train-manifest.parquet")
        listed = set(gens.loc[gens.generator == g, "file"].map(lambda f: str(a / f)))
        assert not listed & set(trained["path"]) and len(trained) == 12
    md = (out / "benchmark.md").read_text()
    assert "Leave one dataset out" in md and "ROC-AUC" in md and "metadata-only" in md and "False positives" in md
    assert "real images scored at or above the model's threshold after each change" in md
    assert "<img" in (out / "benchmark.html").read_text()
    assert np.isfinite(data["lodo"]["alpha"]["roc_auc"])


def test_shortcut_checks_see_a_format_shortcut(tmp_path):
    """AI as PNG, real as JPEG q90: metadata alone separates them (AUC 1); within the JPEG band
    only one class exists, so no band AUC is claimed there."""
    from realorai.evaluation.shortcuts import file_metadata, jpeg_band_auc, metadata_auc

    paths, y = [], []
    for i in range(10):
        smooth_image(i, 64).save(tmp_path / f"ai{i}.png")
        smooth_image(100 + i, 64, noise=10).save(tmp_path / f"real{i}.jpg", quality=90)
        paths += [str(tmp_path / f"ai{i}.png"), str(tmp_path / f"real{i}.jpg")]
        y += [1, 0]
    meta = file_metadata(paths)
    assert metadata_auc(meta, np.array(y)) == pytest.approx(1.0)
    bands = jpeg_band_auc(meta, np.array(y), np.linspace(0, 1, len(y)))
    assert bands["q 85-94"] == {"n": 10, "n_ai": 0, "n_real": 10, "roc_auc": None}
    assert bands["not JPEG"]["n_ai"] == 10 and bands["not JPEG"]["roc_auc"] is None


def test_benchmark_leaves_out_images_the_model_has_seen(detector_run):
    from realorai.evaluation.benchmark import benchmark

    toy = detector_run.parent / "toy"
    result = benchmark(
        [str(toy)],
        detector_run.parent / "bench",
        detector_run,
        robustness=False,
        show_progress=False,
        log=lambda *_: None,
    )
    part = result["datasets"]["toy"]
    summary = json.loads((detector_run / "train_summary.json").read_text())
    assert part["seen_left_out"] == 32 - summary["test"]["all"]["n"]  # train + val files
    assert part["as_is"]["n"] == summary["test"]["all"]["n"]
