"""The end of every frozen detector: ``z = w . (f - mu) / sigma + b``, then temperature ``z / T``.

The module returns two logits ``[0, z / T]`` so that, as for every model in the registry,
``softmax(...)[:, 1]`` is the calibrated P(AI). ``head.load_into`` and ``oos.fold_platt_into``
write the fitted numbers into these buffers; subclasses give ``features(x)``.
"""

from __future__ import annotations

import torch
import torch.nn as nn


class CalibratedHead(nn.Module):
    """Standardised linear head and temperature on ``features(x)`` (defined by the subclass)."""

    def _add_head(self, num_features: int) -> None:
        self.num_features = num_features
        self.register_buffer("mu", torch.zeros(num_features))
        self.register_buffer("sigma", torch.ones(num_features))
        self.register_buffer("temperature", torch.ones(()))
        self.head = nn.Linear(num_features, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def logit(self, f: torch.Tensor) -> torch.Tensor:
        """Raw features -> calibrated logit of P(AI), shape (N,)."""
        return self.head((f - self.mu) / self.sigma).squeeze(1) / self.temperature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.logit(self.features(x))
        return torch.stack([torch.zeros_like(z), z], 1)
