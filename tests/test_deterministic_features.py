"""The same image gives the same features and P(AI) whatever it is batched with (the learning
loop, issue 35, item 1). CLIP's INT8 tower quantizes activations per run, so the tiny tower here
is quantized the same way (ONNX Runtime's quantize_dynamic) to reproduce that."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

runner = CliRunner()


@pytest.fixture
def quantized_tower(tmp_path, monkeypatch):
    pytest.importorskip("onnx")
    from clip_tiny import tiny_tower
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from realorai.features import weights as clip_weights

    monkeypatch.setenv("REALORAI_CACHE", str(tmp_path / "clip-cache"))
    tiny_tower(tmp_path / "tiny.onnx")
    quantize_dynamic(str(tmp_path / "tiny.onnx"), str(tmp_path / "int8.onnx"), weight_type=QuantType.QInt8)
    monkeypatch.setattr(clip_weights, "clip_onnx", lambda expected=None: tmp_path / "int8.onnx")
    return tmp_path / "int8.onnx"


def test_a_crops_features_do_not_depend_on_the_other_crops_in_its_run(quantized_tower):
    from realorai.features import create_extractor

    extractor = create_extractor("clip-b16")
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 255, (4, 3, 224, 224), dtype=np.uint8)
    crops[1:] = 255  # bright neighbours change a per-run activation scale
    alone = extractor.crop_features(crops[:1])[0]
    batched = extractor.crop_features(crops)[0]
    assert np.abs(alone - batched).max() <= 1e-5 * max(1.0, np.abs(alone).max())


def test_a_heads_p_ai_does_not_depend_on_the_batch(quantized_tower, tmp_path):
    """Scoring cuts the crops of several images into shared runs: a one-crop image's P(AI) must not
    move with the images beside it (a head with nonzero weights on the tiny tower's features)."""
    from conftest import smooth_image

    from realorai.detector.adapt import AdaptedCropModel, LinearHead
    from realorai.features import create_extractor
    from realorai.inference.detector import Detector

    extractor = create_extractor("clip-b16")
    target = tmp_path / "target.png"
    smooth_image(77, 230, noise=20).save(target)  # one crop: it shares a run with other images' crops
    others = []
    for i in range(5):  # bright and dark neighbours widen a shared run's activation range
        Image.new("RGB", (230, 230), (255, 255, 255) if i % 2 else (0, 0, 0)).save(tmp_path / f"o{i}.png")
        others.append(tmp_path / f"o{i}.png")
    # A head whose logit for the target is about 1: P(AI) ~0.73, where any shift would show.
    from realorai.detector.crops import image_crops, plan_of
    from realorai.imaging import load_image

    x = extractor.crop_features(image_crops(load_image(target), plan_of(extractor))[0]).mean(0)
    w = np.random.default_rng(1).normal(size=len(x))
    head = LinearHead(np.zeros(len(x)), np.ones(len(x)), w / (x @ w), 0.0)
    det = Detector(AdaptedCropModel(extractor, head, 1.0, 0.0), {"model": "test-head"}, "", "onnx")
    alone = det.score([target]).p_ai[0]
    assert 0.01 < alone < 0.99  # a head that says something, so that a shift would show
    for batch in (2, 16):
        got = det.score([*others, target], batch_size=batch).p_ai[-1]
        assert abs(got - alone) <= 1e-5, (batch, got, alone)
