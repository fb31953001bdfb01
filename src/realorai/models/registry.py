"""One name-keyed registry of models; each entry carries its own preprocessing and training preset.

Entries are plain data (``models/zoo.py``): a builder is named by its dotted path and imported
only when a model is built, so listing models, reading a checkpoint's metadata or running the
shipped ONNX detector never imports torch or a model family.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from realorai.install import TRAIN


@dataclass(frozen=True)
class DataConfig:
    """How pixels reach a model. Training, evaluation and prediction all read it from here."""

    input_size: int = 224
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    interpolation: str = "bilinear"  # "bilinear" | "bicubic"
    # "squash": straight to input_size^2 | "center_crop": short side, then crop |
    # "crops": up to crop_grid^2 native-resolution crops whose logits are averaged (the detector)
    resize: str = "squash"
    crop_pct: float = 1.0
    crop_grid: int = 1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> DataConfig:
        return cls(**{**d, "mean": tuple(d["mean"]), "std": tuple(d["std"])})


KINDS = ("classifier", "detector")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    # "package.module:function" (imported when the model is built) or the function itself;
    # called as builder(num_classes=..., pretrained=..., **builder_kwargs).
    builder: str | Callable[..., Any]
    data_config: DataConfig
    description: str
    # Defaults for `realorai train`; every key can be overridden.
    preset: dict = field(default_factory=dict)
    # A frozen backbone lets training cache backbone features once per image (and view).
    frozen_backbone: bool = False
    # The family, and the one flag that says which: "classifier" (the report's models,
    # realorai.baselines) | "detector" (native-resolution crops, realorai.detector).
    kind: str = "classifier"
    builder_kwargs: dict = field(default_factory=dict)
    # False where the model calls a runtime torch cannot trace (a foundation model's ONNX session):
    # such a detector is scored on the torch backend and is not exported.
    onnx_export: bool = True


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(spec: ModelSpec) -> ModelSpec:
    if spec.name in _REGISTRY:
        raise ValueError(f"model {spec.name!r} registered twice")
    if spec.kind not in KINDS:
        raise ValueError(f"model {spec.name!r}: kind must be one of {KINDS}, got {spec.kind!r}")
    _REGISTRY[spec.name] = spec
    return spec


def unregister_model(name: str) -> None:
    _REGISTRY.pop(name, None)


def list_models() -> list[str]:
    return sorted(_REGISTRY)


def get_spec(name: str) -> ModelSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; available: {', '.join(list_models())}") from None


def _builder(spec: ModelSpec) -> Callable[..., Any]:
    if callable(spec.builder):
        return spec.builder
    module, _, attr = spec.builder.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except ImportError as e:
        raise ImportError(f"model {spec.name!r} needs torch and the training extra: {TRAIN} ({e})") from e


def create_model(name: str, num_classes: int = 2, pretrained: bool = False):
    """Build a registered model. The returned module knows its name and preprocessing."""
    spec = get_spec(name)
    model = _builder(spec)(num_classes=num_classes, pretrained=pretrained, **spec.builder_kwargs)
    model.realorai_name = name
    model.data_config = spec.data_config
    return model


def count_params(model) -> dict[str, int]:
    """Parameter counts the way Keras reports them: BatchNorm running mean/variance count as
    non-trainable parameters, as do frozen weights."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    running = sum(b.numel() for n, b in model.named_buffers() if n.endswith(("running_mean", "running_var")))
    return {"total": trainable + frozen + running, "trainable": trainable, "non_trainable": frozen + running}


def normalize(x, cfg: DataConfig):
    """uint8 (N, 3, S, S) torch tensor -> float, scaled to [0, 1] then standardised with the model's mean/std."""
    import torch

    mean = torch.tensor(cfg.mean, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(cfg.std, device=x.device).view(1, 3, 1, 1)
    return (x.float() / 255.0 - mean) / std
