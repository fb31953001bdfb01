"""``realorai train --model detector-clip-b16`` (issue 30): the frozen training path on CLIP block
features (a tiny random ONNX tower, no download), a checkpoint that carries the weights' sha256
and refuses other weights, scoring wherever a model loads, no ONNX export."""

from __future__ import annotations

import pytest

pytest.importorskip("onnx", reason="the CLIP extractors need onnx (pip install 'realorai[clip]')")
from clip_tiny import D, tiny_tower  # noqa: E402
from conftest import make_dataset  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from realorai.cli.main import app  # noqa: E402
from realorai.hashing import sha256_file  # noqa: E402

runner = CliRunner()


def test_the_spec_reads_the_extractors_crops():
    from realorai.features.clip import CLIP_MEAN, CLIP_STD
    from realorai.models import get_spec

    cfg = get_spec("detector-clip-b16").data_config
    assert (cfg.mean, cfg.std, cfg.input_size, cfg.crop_grid, cfg.resize) == (CLIP_MEAN, CLIP_STD, 224, 2, "crops")


def test_train_a_clip_block_detector_and_use_it_everywhere(tmp_path, clip_tower):
    from realorai.inference.detector import Detector
    from realorai.models.checkpoint import read_meta

    a = make_dataset(tmp_path / "one", per_class=20, size=96)
    b = make_dataset(tmp_path / "two", per_class=20, size=112)
    run = tmp_path / "run"
    args = ["train", "--model", "detector-clip-b16", "--data", str(a), "--data", str(b), "-o", str(run), "--views", "1"]
    assert runner.invoke(app, [*args, "--consistent-margin", "0.7"]).exit_code == 2
    r = runner.invoke(app, [*args, "--consistent-margin", "0.0"])
    assert r.exit_code == 0, r.output
    assert "consistent features:" in r.output  # the rule ran: features agreeing in direction in both sets
    meta = read_meta(run)
    assert meta["model"] == "detector-clip-b16" and "reliability" in meta
    det = Detector.load(run)  # auto: the head on numpy, the extractor on ONNX Runtime (no torch needed)
    assert det.backend == "onnx" and det.model.num_features == 2 * D
    assert bytes(Detector.load(run, backend="torch").model.weights_id.tolist()).hex() == sha256_file(clip_tower)
    rows = det.predict([a / "ai" / "ai_000.png", tmp_path / "missing.png"], pixels_only=True)
    assert 0 <= rows[0]["p_ai"] <= 1 and rows[1]["verdict"] == "error"
    predicted = runner.invoke(app, ["predict", str(a / "ai" / "ai_000.png"), "--model", str(run)])
    assert predicted.exit_code == 0, predicted.output
    refused = runner.invoke(app, ["export", "onnx", "--model", str(run), "-o", str(tmp_path / "x.onnx")])
    assert refused.exit_code != 0 and "another runtime" in refused.output
    tiny_tower(clip_tower, seed=4)  # other weights under the same name: refused, never other features
    with pytest.raises(ValueError, match="not the same features"):
        Detector.load(run)
