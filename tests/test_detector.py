"""The detector's parts on tiny generated inputs: crops, augmentation, calibration, the network."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from conftest import smooth_image
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from realorai.detector.augment import AugmentConfig, augment, downscale, jpeg_roundtrip
from realorai.detector.crops import CropPlan, crop_boxes, image_crops
from realorai.detector.head import fit_head_arrays, fit_temperature, predict_logits
from realorai.metrics import expected_calibration_error
from realorai.models import create_model, get_spec, list_models

PLAN = CropPlan(size=224, grid=2)
DETECTORS = [m for m in list_models() if get_spec(m).kind == "detector"]
FROZEN = [m for m in DETECTORS if get_spec(m).frozen_backbone]


@pytest.mark.parametrize(
    ("size", "n_crops"),
    [((224, 224), 1), ((300, 250), 1), ((512, 512), 4), ((4000, 3000), 4), ((448, 224), 2)],
)
def test_crop_boxes_native_resolution_inside_image(size, n_crops):
    boxes = crop_boxes(*size, PLAN)
    assert len(boxes) == n_crops
    for left, top, right, bottom in boxes:
        assert right - left == 224 and bottom - top == 224  # crops are never resized
        assert left >= 0 and top >= 0 and right <= size[0] and bottom <= size[1]
    if n_crops == 4:  # spread to the corners, not stacked in the middle
        assert {b[0] for b in boxes} == {0, size[0] - 224}


def test_image_crops_keep_pixels_and_flag_small_images():
    img = smooth_image(1, 512, noise=20)
    crops, boxes, upsampled = image_crops(img, PLAN)
    assert crops.shape == (4, 3, 224, 224) and crops.dtype == np.uint8 and not upsampled
    left, top, right, bottom = boxes[-1]
    expected = np.asarray(img.crop((left, top, right, bottom))).transpose(2, 0, 1)
    assert np.array_equal(crops[-1], expected)
    crops, _, upsampled = image_crops(smooth_image(2, 32), PLAN)
    assert upsampled and crops.shape == (1, 3, 224, 224)


@pytest.mark.parametrize("size", [(1, 1), (1, 20000), (20000, 3)])
def test_degenerate_sizes_are_bounded(size):
    img = Image.new("RGB", size, (120, 30, 200))
    crops, _, upsampled = image_crops(img, PLAN)
    assert upsampled and 1 <= len(crops) <= 4


def test_jpeg_roundtrip_really_reencodes():
    img = smooth_image(3, 128, noise=30)
    out = jpeg_roundtrip(img, 30)
    assert out.size == img.size and out.mode == "RGB"
    diff = np.abs(np.asarray(out, float) - np.asarray(img, float)).mean()
    assert diff > 2.0  # quality 30 visibly changes noisy pixels
    assert np.abs(np.asarray(jpeg_roundtrip(img, 100), float) - np.asarray(img, float)).mean() < diff


def test_downscale_and_augment_sizes():
    img = smooth_image(4, 400)
    assert downscale(img, 0.25).size == (100, 100)
    rng = random.Random(0)
    for _ in range(20):
        out = augment(img, PLAN, AugmentConfig(p_downscale=1.0, p_blur=0.5, p_jpeg=0.5), rng)
        assert out.size == (224, 224)


def test_augment_is_deterministic_for_a_seed():
    img = smooth_image(5, 300, noise=10)
    a = augment(img, PLAN, AugmentConfig(), random.Random("0:7"))
    b = augment(img, PLAN, AugmentConfig(), random.Random("0:7"))
    assert np.array_equal(np.asarray(a), np.asarray(b))


def test_temperature_scaling_undoes_overconfidence():
    rng = np.random.default_rng(0)
    z_true = rng.normal(0, 2, 4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-z_true))).astype(int)
    z_over = 3.0 * z_true  # an overconfident model
    t = fit_temperature(z_over, y)
    assert 2.5 < t < 3.5
    before = expected_calibration_error(y, 1 / (1 + np.exp(-z_over)))
    after = expected_calibration_error(y, 1 / (1 + np.exp(-z_over / t)))
    assert after < before and after < 0.03


def test_ece_by_hand():
    # Two bins used: p=0.1 (true AI rate 0.5) and p=0.9 (true AI rate 1.0), 2 images each.
    y = np.array([0, 1, 1, 1])
    p = np.array([0.1, 0.1, 0.9, 0.9])
    assert expected_calibration_error(y, p) == pytest.approx(0.5 * 0.4 + 0.5 * 0.1)


def test_head_separates_separable_features():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(0, 1, (50, 8)), rng.normal(2, 1, (50, 8))])
    y = np.repeat([0, 1], 50)
    head = fit_head_arrays(x, y, C=1.0)
    z = predict_logits(head, x)
    assert ((z > 0) == y.astype(bool)).mean() > 0.9


@pytest.mark.parametrize("name", DETECTORS)
def test_detector_models_tiny_forward(name, request):
    foundation = "foundation" in str(get_spec(name).builder)
    if foundation:  # CLIP's blocks: a tiny random tower, at the tower's own 224-px input
        request.getfixturevalue("clip_tower")
    model = create_model(name, pretrained=False).eval()
    side = 224 if foundation else 64
    x = torch.randn(2, 3, side, side).clamp(-1.5, 1.5)
    with torch.no_grad():
        logits = model(x)
    assert logits.shape == (2, 2) and torch.isfinite(logits).all()
    assert torch.all(logits[:, 0] == 0)  # P(AI) = sigmoid(z): the first logit is the fixed reference
    assert model.data_config.resize == "crops"
    if name in FROZEN:
        with torch.no_grad():
            assert model.features(x).shape == (2, model.num_features)


def test_detector_backbone_stays_frozen():
    model = create_model("detector-lite0-early", pretrained=False)
    model.train()
    assert not model.backbone.training
    assert all(not p.requires_grad for p in model.backbone.parameters())


@settings(max_examples=60, deadline=None)
@given(w=st.integers(224, 5000), h=st.integers(224, 5000), max_side=st.integers(1, 8))
def test_heatmap_tiles_cover_the_image_once_and_crops_stay_inside(w, h, max_side):
    from realorai.detector.heatmap import heatmap_tiles

    tiles, crops = heatmap_tiles(w, h, 224, max_side)
    assert sum((r - left) * (b - t) for left, t, r, b in tiles) == w * h  # a partition: no gap, no overlap
    assert len(tiles) <= max_side**2
    for (tl, tt, tr, tb), (cl, ct, cr, cb) in zip(tiles, crops, strict=True):
        assert cl >= 0 and ct >= 0 and cr <= w and cb <= h and cr - cl == cb - ct == 224
        # the crop sits on its tile: their centres are close on both axes
        assert abs((cl + cr) / 2 - (tl + tr) / 2) <= max(112, (tr - tl) / 2)
        assert abs((ct + cb) / 2 - (tt + tb) / 2) <= max(112, (tb - tt) / 2)


def test_consistent_features_keep_only_directions_every_training_set_agrees_on():
    from realorai.detector.head import consistent_mask, fit_head_arrays

    rng = np.random.default_rng(0)
    y = np.tile([0, 1], 50)
    groups = np.repeat(["a", "b"], 50)
    agree = y + rng.normal(0, 0.5, 100)  # higher for AI in both sets
    flips = np.where(groups == "a", y, 1 - y) + rng.normal(0, 0.5, 100)  # AI in a, real in b
    noise = rng.normal(0, 1, 100)
    x = np.stack([agree, flips, noise], 1)
    reals_only = (np.zeros((20, 3)), np.zeros(20, int), np.repeat("c", 20))  # a real-only set is no vote
    xs, ys, gs = (np.concatenate(p) for p in zip((x, y, groups), reals_only, strict=True))
    mask = consistent_mask(xs, ys, gs, margin=0.1)
    assert mask.tolist() == [True, False, False]
    head = fit_head_arrays(xs, ys, 1.0, 0, gs, mask)
    assert head.w[0] > 0 and head.w[1] == 0 and head.w[2] == 0
