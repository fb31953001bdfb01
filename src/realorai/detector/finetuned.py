"""EfficientNet-Lite0's first three stages, fine-tuned end to end, with a logit per location.

Why: the frozen early statistics of these stages carried best across datasets of the frozen
designs (docs/DETECTOR.md), and ImageNet initialisation learns far faster on a CPU than a
network from scratch. Fine-tuning lets them adapt to generation traces; a 1x1 convolution gives
each 8x8-pixel cell a logit (receptive field ~70 px, still local) and the image's logit is
their mean. Same calling convention as every detector: ``forward`` returns ``[0, z / T]``.
"""

from __future__ import annotations

import timm
import torch
import torch.nn as nn

from realorai.models.weights import load_lite_weights


class EarlyFineTuned(nn.Module):
    def __init__(self, variant: int = 0) -> None:
        super().__init__()
        net = timm.create_model(f"tf_efficientnet_lite{variant}", pretrained=False, num_classes=0)
        self.variant = variant
        self.stem = nn.Sequential(net.conv_stem, net.bn1)
        self.blocks = net.blocks[:3]
        width = self.blocks[-1][-1].conv_pwl.out_channels
        self.patch_logit = nn.Conv2d(width, 1, 1)
        self.register_buffer("temperature", torch.ones(()))

    def load_imagenet(self) -> EarlyFineTuned:
        full = timm.create_model(f"tf_efficientnet_lite{self.variant}", pretrained=False, num_classes=0)
        load_lite_weights(full, self.variant)
        self.stem.load_state_dict(nn.Sequential(full.conv_stem, full.bn1).state_dict())
        self.blocks.load_state_dict(full.blocks[:3].state_dict())
        return self

    def patch_logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.patch_logit(self.blocks(self.stem(x))).squeeze(1)

    def raw_logit(self, x: torch.Tensor) -> torch.Tensor:
        return self.patch_logits(x).mean((1, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.raw_logit(x) / self.temperature
        return torch.stack([torch.zeros_like(z), z], 1)


def build(num_classes: int = 2, pretrained: bool = True, variant: int = 0) -> EarlyFineTuned:
    if num_classes != 2:
        raise ValueError("the detector is binary (real / ai)")
    net = EarlyFineTuned(variant)
    return net.load_imagenet() if pretrained else net
