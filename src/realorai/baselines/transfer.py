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


def resnet101(num_classes: int = 2, pretrained: bool = True) -> TransferNet:
    net = torchvision.models.resnet101(weights=None)
    if pretrained:
        net.load_state_dict(load_torchvision_state_dict(RESNET101_WEIGHTS))
    net.fc = nn.Identity()  # avgpool is already global average pooling
    return TransferNet(net, 2048, num_classes)


def lite(num_classes: int = 2, pretrained: bool = True, variant: int = 0) -> TransferNet:
    net = timm.create_model(f"tf_efficientnet_lite{variant}", pretrained=False, num_classes=0)
    if pretrained:
        load_lite_weights(net, variant)
    return TransferNet(net, net.num_features, num_classes)
