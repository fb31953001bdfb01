"""The detector network: a frozen ImageNet EfficientNet-Lite read at several depths, and a
calibrated linear head.

Why several depths: the pooled last layer describes *what* is in a crop (content, style), which
differs from one dataset to the next; the early blocks respond to local pixel statistics
(up-sampling, noise, demosaicing), where generator traces live. Each block's output is pooled
into its per-channel mean and standard deviation.

Why an optional NPR filter (Tan et al. 2024): ``x - up(down(x))`` keeps only the residual
between neighbouring pixels, the footprint of a generator's up-sampling layers, and removes
most of the content.

The head is ``detector.calibrated.CalibratedHead``: ``z = w . (f - mu) / sigma + b``, then
temperature scaling ``z / T`` fitted on validation data.
"""

from __future__ import annotations

import timm
import torch
import torch.nn as nn
import torch.nn.functional as F

from realorai.detector.calibrated import CalibratedHead
from realorai.models.weights import load_lite_weights

FEATURE_SETS = ("pooled", "multiscale", "early")


def npr_residual(x: torch.Tensor) -> torch.Tensor:
    """Neighbouring-pixel residual: the image minus its 2x nearest down-then-up-sampled self."""
    h, w = x.shape[-2] // 2 * 2, x.shape[-1] // 2 * 2
    x = x[..., :h, :w]
    return x - F.interpolate(x[..., ::2, ::2], scale_factor=2.0, mode="nearest")


class ForensicNet(CalibratedHead):
    """Frozen EfficientNet-Lite features -> standardised linear head -> temperature."""

    def __init__(self, variant: int = 0, feature_set: str = "multiscale", input_filter: str = "none") -> None:
        super().__init__()
        if feature_set not in FEATURE_SETS:
            raise ValueError(f"unknown feature set {feature_set!r}: {FEATURE_SETS}")
        if input_filter not in ("none", "npr"):
            raise ValueError(f"unknown input filter {input_filter!r}: none | npr")
        self.variant, self.feature_set, self.input_filter = variant, feature_set, input_filter
        self.backbone = timm.create_model(f"tf_efficientnet_lite{variant}", pretrained=False, num_classes=0)
        self.backbone.requires_grad_(False)
        widths = [self._stage_width(stage) for stage in self.backbone.blocks]
        if feature_set == "early":
            # Only the first three stages are read: drop the rest (smaller file, ~2x faster).
            self.backbone.blocks = self.backbone.blocks[:3]
            self.backbone.conv_head = self.backbone.bn2 = nn.Identity()
        self._add_head(
            {
                "pooled": self.backbone.num_features,
                "multiscale": 2 * sum(widths) + self.backbone.num_features,
                "early": 2 * sum(widths[:3]),
            }[feature_set]
        )
        self.backbone.eval()

    @staticmethod
    def _stage_width(stage: nn.Module) -> int:
        last = stage[-1]
        conv = getattr(last, "conv_pwl", None) or last.conv_pw
        return conv.out_channels

    def load_imagenet(self) -> ForensicNet:
        full = timm.create_model(f"tf_efficientnet_lite{self.variant}", pretrained=False, num_classes=0)
        load_lite_weights(full, self.variant)
        wanted = self.backbone.state_dict()
        missing = [k for k in wanted if k not in full.state_dict()]
        if missing:
            raise RuntimeError(f"ImageNet weights lack {missing[:3]}")
        self.backbone.load_state_dict({k: full.state_dict()[k] for k in wanted})
        return self

    def train(self, mode: bool = True) -> ForensicNet:
        super().train(mode)
        self.backbone.eval()  # frozen: ImageNet BatchNorm statistics, never updated
        return self

    @torch.no_grad()
    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised crops (N, 3, S, S) -> raw features (N, num_features)."""
        if self.input_filter == "npr":
            x = npr_residual(x) * 4.0  # residuals are small; scale them into the backbone's range
        b = self.backbone
        h = b.bn1(b.conv_stem(x))
        stats = []
        for stage in b.blocks:
            h = stage(h)
            if self.feature_set != "pooled":
                stats += [h.mean((2, 3)), h.std((2, 3))]
        if self.feature_set == "early":
            return torch.cat(stats, 1)
        h = b.bn2(b.conv_head(h)).mean((2, 3))
        return torch.cat([*stats, h], 1)


def build(
    num_classes: int = 2,
    pretrained: bool = True,
    variant: int = 0,
    feature_set: str = "early",
    input_filter: str = "none",
) -> ForensicNet:
    """Registry builder (``models/zoo.py`` names one entry per design)."""
    if num_classes != 2:
        raise ValueError("the detector is binary (real / ai)")
    net = ForensicNet(variant, feature_set, input_filter)
    return net.load_imagenet() if pretrained else net
