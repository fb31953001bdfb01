"""A patch-level forensic network trained end to end: a small receptive field on a residual input.

Why small patches (LaDeDa, Cavia et al. 2024; PatchCraft): generation traces are local pixel
statistics (up-sampling, decoder noise), present in every patch, while content is global. A
network that sees only ~20 px at a time cannot learn a dataset's subjects or framing; each patch
gets a logit and the image's logit is their mean.

Why a residual input (NPR, Tan et al. 2024): ``x - up(down(x))`` keeps what differs between
neighbouring pixels, the footprint of a generator's up-sampling layers, and drops most content.

The module returns two logits ``[0, z / T]`` like every registry model (P(AI) = softmax[:, 1]),
with ``T`` a temperature fitted on validation data after training.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from realorai.detector.network import npr_residual


def _conv(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]


class PatchNet(nn.Module):
    """Residual input -> 5 small convolutions (receptive field 19 px) -> a logit per 2x2 patch -> mean."""

    def __init__(self, width: int = 24, input_filter: str = "npr") -> None:
        super().__init__()
        if input_filter not in ("npr", "none"):
            raise ValueError(f"unknown input filter {input_filter!r}: npr | none")
        self.input_filter = input_filter
        w = width
        self.body = nn.Sequential(
            *_conv(3, w), *_conv(w, w), *_conv(w, 2 * w, 2), *_conv(2 * w, 2 * w), *_conv(2 * w, 2 * w)
        )
        self.patch_logit = nn.Conv2d(2 * w, 1, 1)
        self.register_buffer("temperature", torch.ones(()))

    def patch_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised crops (N, 3, S, S) -> uncalibrated logit map (N, S/2, S/2)."""
        if self.input_filter == "npr":
            x = npr_residual(x) * 4.0  # residuals are small; scale them into a unit range
        return self.patch_logit(self.body(x)).squeeze(1)

    def raw_logit(self, x: torch.Tensor) -> torch.Tensor:
        return self.patch_logits(x).mean((1, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.raw_logit(x) / self.temperature
        return torch.stack([torch.zeros_like(z), z], 1)


def build(num_classes: int = 2, pretrained: bool = False, width: int = 24, input_filter: str = "npr") -> PatchNet:
    """Registry builder: trained from scratch (there is nothing pretrained to load)."""
    if num_classes != 2:
        raise ValueError("the detector is binary (real / ai)")
    return PatchNet(width, input_filter)
