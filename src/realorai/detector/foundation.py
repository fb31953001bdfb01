"""A frozen detector on a foundation model's features: ``realorai train --model detector-clip-b16``.

The same design as ``ForensicNet`` (frozen features of native crops -> ``CalibratedHead``: a
standardised linear head and temperature), so the whole frozen training path applies unchanged:
augmented views, the head's strength chosen on validation, the consistent-direction rule,
out-of-source folds, recalibration and tiers. The features come from an extractor of
``realorai.features`` (ONNX Runtime or a torch tower), which is not a torch module: the
checkpoint holds the head, and the extractor's weights' sha256 as a buffer, checked whenever the
checkpoint is loaded (other weights under the same name are refused). Scoring runs on the torch
backend; the extractor itself runs where it runs.
"""

from __future__ import annotations

import torch

from realorai.detector.calibrated import CalibratedHead
from realorai.models.registry import DataConfig


class FoundationNet(CalibratedHead):
    """An extractor's features -> standardised linear head -> temperature."""

    def __init__(self, extractor_name: str) -> None:
        super().__init__()
        from realorai.features import ExtractorUnavailable, create_extractor

        try:
            self.extractor = create_extractor(extractor_name)
        except ExtractorUnavailable as e:
            raise ValueError(f"the {extractor_name} features cannot be built here: {e}") from e
        self.extractor_name = extractor_name
        self.data_config: DataConfig = self.extractor.data_config
        sha = bytes.fromhex(self.extractor.weights_sha256)
        self.register_buffer("weights_id", torch.tensor(list(sha), dtype=torch.uint8))
        self._add_head(int(self.extractor.num_features))

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        saved = state_dict.get("weights_id")
        if saved is not None and not torch.equal(saved.to(torch.uint8), self.weights_id):
            raise ValueError(
                f"this head was fitted on {self.extractor_name} weights {bytes(saved.tolist()).hex()[:16]}..., but the "
                f"weights here are {self.extractor.weights_sha256[:16]}...: not the same features"
            )
        return super().load_state_dict(state_dict, strict, assign)

    def describe(self) -> dict:
        return self.extractor.describe()

    @torch.no_grad()
    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised crops (N, 3, S, S) -> raw features (N, num_features). The extractor reads
        uint8 crops: undoing the normalisation of what were uint8 crops is exact after rounding."""
        mean = torch.tensor(self.data_config.mean, dtype=torch.float32).reshape(1, 3, 1, 1)
        std = torch.tensor(self.data_config.std, dtype=torch.float32).reshape(1, 3, 1, 1)
        crops = ((x.float().cpu() * std + mean) * 255).round().clamp(0, 255).to(torch.uint8)
        f = self.extractor.crop_features(crops.contiguous().numpy())
        return torch.from_numpy(f).float().to(x.device)


def build(num_classes: int = 2, pretrained: bool = True, extractor: str = "clip-b16") -> FoundationNet:
    """Registry builder; ``pretrained`` does not apply (the extractor always has its weights)."""
    if num_classes != 2:
        raise ValueError("the detector is binary (real / ai)")
    return FoundationNet(extractor)
