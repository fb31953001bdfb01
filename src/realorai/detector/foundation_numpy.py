"""A frozen detector on a foundation model's features, without torch (what the light install runs).

``detector-clip-b16`` and its variants train as ``FoundationNet`` (torch), but all a checkpoint
holds is a standardised linear head, a temperature and the extractor's weights' sha256; the
extractor itself runs on ONNX Runtime. So the head runs on numpy as any adapted head does
(``detector.adapt``: ``LinearHead`` scored by ``AdaptedCropModel``, here with ``a = 1 / T``),
``z = (w . (f - mu) / sigma + b) / T`` per crop, equal to FoundationNet's to 1e-5 (tested), and a
head fitted on other weights is refused as it is there.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

KEYS = ("mu", "sigma", "head.weight", "head.bias", "temperature", "weights_id")


def load(path: str | Path, extractor_name: str):
    """The head in checkpoint ``path`` on a freshly built ``extractor_name`` (ExtractorUnavailable
    when its weights are not here), as an ``AdaptedCropModel``."""
    from safetensors.numpy import load_file

    from realorai.detector.adapt import AdaptedCropModel, LinearHead
    from realorai.features import create_extractor

    state = load_file(str(path))
    missing = [k for k in KEYS if k not in state]
    if missing:
        raise ValueError(f"{path}: no {missing[0]!r} in the checkpoint (not a foundation detector's head?)")
    extractor = create_extractor(extractor_name)
    saved = bytes(np.asarray(state["weights_id"], np.uint8).tolist()).hex()
    if saved != extractor.weights_sha256:
        raise ValueError(f"{path}: this head was fitted on {extractor.name} weights {saved[:16]}..., but the "
                         f"weights here are {extractor.weights_sha256[:16]}...: not the same features")  # fmt: skip
    head = LinearHead(np.asarray(state["mu"], float), np.asarray(state["sigma"], float),
                      np.asarray(state["head.weight"], float).reshape(-1),
                      float(np.asarray(state["head.bias"]).reshape(-1)[0]))  # fmt: skip
    temperature = float(np.asarray(state["temperature"]).reshape(()))
    finite = all(np.isfinite(a).all() for a in (head.mu, head.sigma, head.w)) and temperature > 0
    if len(head.w) != extractor.num_features or not finite:
        raise ValueError(f"{path}: its head has {len(head.w)} weights (some not finite, or T <= 0?) for "
                         f"{extractor.num_features} features of {extractor.name}")  # fmt: skip
    return AdaptedCropModel(extractor, head, 1.0 / temperature, 0.0)
