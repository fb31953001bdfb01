"""The end-to-end detector: the shortcut-neutralising chain, aligned pairs augmented alike, one
training run on CPU, calibration, and the ONNX export agreeing with torch."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
import torch
from conftest import make_dataset, smooth_image
from PIL import Image

from realorai.detector.augment import NEUTRAL_CHAIN, augment
from realorai.detector.crops import CropPlan
from realorai.detector.dataset import CropDataset
from realorai.models import create_model


def test_the_chain_reencodes_both_classes_as_jpeg(monkeypatch):
    """Whatever the file format of either class, nearly every training crop is re-encoded."""
    import realorai.detector.augment as aug

    qualities = []
    real = aug.jpeg_roundtrip
    monkeypatch.setattr(aug, "jpeg_roundtrip", lambda img, q: qualities.append(q) or real(img, q))
    rng = random.Random(0)
    png_like, jpeg_like = smooth_image(1, 200, noise=10), smooth_image(2, 200, noise=10)
    buf = io.BytesIO()
    jpeg_like.save(buf, "JPEG", quality=95)
    jpeg_like = Image.open(buf).convert("RGB")
    n = 200
    for img in (png_like, jpeg_like):
        before = len(qualities)
        for _ in range(n):
            augment(img, CropPlan(128, 1), NEUTRAL_CHAIN, rng)
        encoded = len(qualities) - before
        assert encoded > 0.85 * n  # p_jpeg 0.9, plus the second pass on some
    assert min(qualities) >= 50 and max(qualities) <= 98 and len(set(qualities)) > 20


def test_aligned_pairs_get_the_same_crop_box_and_jpeg_quality(tmp_path):
    real = smooth_image(3, 256, noise=12)
    fake = Image.fromarray(np.clip(np.asarray(real, int) + 3, 0, 255).astype(np.uint8))  # same size, other pixels
    real.save(tmp_path / "real.png")
    fake.save(tmp_path / "fake.png")
    paths = [str(tmp_path / "real.png"), str(tmp_path / "fake.png")]
    paired = CropDataset(paths, CropPlan(96, 1), NEUTRAL_CHAIN, views=3, seed=7, keys=["pairA", "pairA"])
    for view in range(3):
        a, b = paired[view * 2]["crops"][0].astype(int), paired[view * 2 + 1]["crops"][0].astype(int)
        # The same box and the same re-encoding: the crops differ by about the +3 offset only.
        assert abs(float((b - a).mean()) - 3) < 1.0 and np.abs(b - a).max() < 40
    unpaired = CropDataset(paths, CropPlan(96, 1), NEUTRAL_CHAIN, views=1, seed=7)
    a, b = unpaired[0]["crops"][0].astype(int), unpaired[1]["crops"][0].astype(int)
    assert np.abs(b - a).mean() > 10  # without a shared key, other boxes


def test_one_training_run_on_cpu_calibrates_and_exports(tmp_path):
    from realorai.detector.fit import DetectorConfig, fit_detector
    from realorai.detector.onnx import OnnxCropModel, export_bytes
    from realorai.detector.score import crop_logits
    from realorai.models.checkpoint import load_checkpoint, read_meta

    data = [make_dataset(tmp_path / n, per_class=12, size=96) for n in ("a", "b")]
    cfg = DetectorConfig(model="detector-patch-npr", data=tuple(map(str, data)), epochs=1, batch_size=8, workers=0)
    summary = fit_detector(cfg, tmp_path / "run", show_progress=False, log=lambda m: None)
    meta = read_meta(tmp_path / "run")
    assert meta["model"] == "detector-patch-npr" and meta["train_datasets"] == ["a", "b"]
    assert meta["temperature"] > 0 and len(meta["history"]) == 1 and summary["test"]["all"]["n"] > 0
    model, _ = load_checkpoint(tmp_path / "run")
    assert float(model.temperature) == pytest.approx(meta["temperature"])
    crops = np.random.default_rng(0).integers(0, 256, (3, 3, 224, 224), dtype=np.uint8)
    onnx_model = OnnxCropModel(export_bytes(model, meta))
    assert np.allclose(onnx_model.crop_logits(crops), crop_logits(model, crops), atol=1e-4)


def test_patch_network_has_a_small_receptive_field():
    """A change far from a patch leaves its logit alone: the network cannot see global content."""
    net = create_model("detector-patch-none").eval()
    x = torch.randn(1, 3, 96, 96)
    y = x.clone()
    y[..., 60:, 60:] = torch.randn(1, 3, 36, 36)
    with torch.no_grad():
        a, b = net.patch_logits(x), net.patch_logits(y)
    assert torch.equal(a[:, :15, :15], b[:, :15, :15]) and not torch.equal(a, b)
