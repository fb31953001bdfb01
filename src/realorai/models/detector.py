"""Registry entries for the forensic detector (realorai.detector): one per feature design, so
that the design comparison in docs/DETECTOR.md trains each through the same code."""

from __future__ import annotations

import timm

from realorai.detector.network import ForensicNet
from realorai.models.registry import DataConfig, ModelSpec, register_model

DESIGNS = {
    "pooled": ("pooled", "none", "last block pooled (what the report's transfer models see)"),
    "multiscale": ("multiscale", "none", "mean+std of every block and the pooled head"),
    "early": ("early", "none", "mean+std of the first three blocks only (low-level statistics)"),
    "npr": ("multiscale", "npr", "multiscale features of the NPR residual x - up(down(x))"),
}


def _builder(variant: int, feature_set: str, input_filter: str):
    def build(num_classes: int, pretrained: bool) -> ForensicNet:
        if num_classes != 2:
            raise ValueError("the detector is binary (real / ai)")
        net = ForensicNet(variant, feature_set, input_filter)
        return net.load_imagenet() if pretrained else net

    return build


for _v in (0,):
    _cfg = timm.get_pretrained_cfg(f"tf_efficientnet_lite{_v}").to_dict()
    for _name, (_fs, _filter, _what) in DESIGNS.items():
        register_model(
            ModelSpec(
                name=f"detector-lite{_v}-{_name}",
                builder=_builder(_v, _fs, _filter),
                data_config=DataConfig(
                    input_size=_cfg["input_size"][-1],
                    mean=tuple(_cfg["mean"]),
                    std=tuple(_cfg["std"]),
                    interpolation=_cfg["interpolation"],
                    resize="crops",
                    crop_grid=2,
                ),
                description=f"forensic detector: frozen EfficientNet-Lite{_v}, {_what}; native-resolution crops, "
                "calibrated linear head.",
                preset={"views": 4, "batch_size": 16},
                frozen_backbone=True,
                kind="detector",
            )
        )
