"""The student report's custom CNN, layer for layer.

Keras layer order: Conv2D(relu, same padding) -> BatchNormalization -> MaxPooling2D, three
times; Flatten; Dense(256, relu) -> BatchNormalization -> Dropout; Dense(2). Keras counts the
BatchNorm moving mean/variance as 960 non-trainable parameters: 25,786,050 in all.
"""

from __future__ import annotations

import torch
import torch.nn as nn


def _block(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(inplace=True), nn.BatchNorm2d(c_out), nn.MaxPool2d(2)]


class ReportCNN(nn.Module):
    def __init__(self, num_classes: int = 2, input_size: int = 224, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(*_block(3, 32), *_block(32, 64), *_block(64, 128))
        flat = 128 * (input_size // 8) ** 2  # 100,352 at 224x224
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(flat, 256),
            nn.ReLU(inplace=True),
            nn.BatchNorm1d(256),
            nn.Dropout(dropout),
            nn.Linear(256, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def build(num_classes: int = 2, pretrained: bool = False) -> ReportCNN:
    """Registry builder: the report trained it from scratch, so there are no pretrained weights."""
    return ReportCNN(num_classes)
