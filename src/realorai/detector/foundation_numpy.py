"""A frozen detector on a foundation model's features, without torch (what the light install runs).

``detector-clip-b16`` and its variants train as ``FoundationNet`` (torch), but all a checkpoint
holds is a standardised linear head, a temperature and the extractor's weights' sha256; the
extractor itself runs on ONNX Runtime. So the head runs here on numpy, on the same features:
``z = (w . (f - mu) / sigma + b) / T`` per crop, equal to FoundationNet's (tested), and a head
fitted on other weights is refused as it is there.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

KEYS = ("mu", "sigma", "head.weight", "head.bias", "temperature", "weights_id")


class FoundationHead:
    """``crop_features`` from the extractor, ``crop_logits`` from the checkpoint's head."""

    def __init__(self, extractor, arrays: dict, source: str | Path) -> None:
        missing = [k for k in KEYS if k not in arrays]
        if missing:
            raise ValueError(f"{source}: no {missing[0]!r} in the checkpoint (not a foundation detector's head?)")
        saved = bytes(np.asarray(arrays["weights_id"], np.uint8).tolist()).hex()
        if saved != extractor.weights_sha256:
            raise ValueError(f"{source}: this head was fitted on {extractor.name} weights {saved[:16]}..., but the "
                             f"weights here are {extractor.weights_sha256[:16]}...: not the same features")  # fmt: skip
        self.extractor = extractor
        self.data_config = extractor.data_config
        self.num_features = int(extractor.num_features)
        self.mu = np.asarray(arrays["mu"], np.float64)
        self.sigma = np.asarray(arrays["sigma"], np.float64)
        self.w = np.asarray(arrays["head.weight"], np.float64).reshape(-1)
        self.b = float(np.asarray(arrays["head.bias"]).reshape(-1)[0])
        self.temperature = float(np.asarray(arrays["temperature"]).reshape(()))
        if len(self.w) != self.num_features or not all(np.isfinite(a).all() for a in (self.mu, self.sigma, self.w)):
            raise ValueError(f"{source}: its head has {len(self.w)} weights (some not finite?) for "
                             f"{self.num_features} features of {extractor.name}")  # fmt: skip

    def eval(self) -> FoundationHead:
        return self

    def describe(self) -> dict:
        return self.extractor.describe()

    def crop_features(self, crops: np.ndarray) -> np.ndarray:
        return self.extractor.crop_features(crops)

    def crop_logits(self, crops: np.ndarray) -> np.ndarray:
        f = self.crop_features(crops)
        # float32 standardisation, as FoundationNet computes it, so both backends agree to 1e-5
        z = ((f.astype(np.float32) - self.mu.astype(np.float32)) / self.sigma.astype(np.float32)) @ self.w.astype(
            np.float32
        )
        return ((z + np.float32(self.b)) / np.float32(self.temperature)).astype(np.float32)


def load(path: str | Path, extractor_name: str) -> FoundationHead:
    """The head in checkpoint ``path`` on a freshly built ``extractor_name`` (ExtractorUnavailable
    when its weights are not here)."""
    from safetensors.numpy import load_file

    from realorai.features import create_extractor

    return FoundationHead(create_extractor(extractor_name), load_file(str(path)), path)
