"""One name-keyed registry of models; each entry carries its own preprocessing and training preset."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch.nn as nn


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


@dataclass(frozen=True)
class ModelSpec:
    name: str
    builder: Callable[[int, bool], nn.Module]
    data_config: DataConfig
    description: str
    # Defaults for `realorai train`; every key can be overridden.
    preset: dict = field(default_factory=dict)
    # A frozen backbone lets training cache backbone features once per image (and view).
    frozen_backbone: bool = False
    # "classifier": the report's models, trained by realorai.train | "detector": native-resolution
    # crops, frozen features and a calibrated linear head, trained by realorai.detector.fit
    kind: str = "classifier"


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(spec: ModelSpec) -> ModelSpec:
    if spec.name in _REGISTRY:
        raise ValueError(f"model {spec.name!r} registered twice")
    _REGISTRY[spec.name] = spec
    return spec


def list_models() -> list[str]:
    return sorted(_REGISTRY)


def get_spec(name: str) -> ModelSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; available: {', '.join(list_models())}") from None


def create_model(name: str, num_classes: int = 2, pretrained: bool = False) -> nn.Module:
    """Build a registered model. The returned module knows its name and preprocessing."""
    spec = get_spec(name)
    model = spec.builder(num_classes, pretrained)
    model.realorai_name = name
    model.data_config = spec.data_config
    return model


def resolve_data_config(model_or_name: nn.Module | str) -> DataConfig:
    if isinstance(model_or_name, str):
        return get_spec(model_or_name).data_config
    return model_or_name.data_config


def count_params(model: nn.Module) -> dict[str, int]:
    """Parameter counts the way Keras reports them: BatchNorm running mean/variance count as
    non-trainable parameters, as do frozen weights."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    running = sum(b.numel() for n, b in model.named_buffers() if n.endswith(("running_mean", "running_var")))
    return {"total": trainable + frozen + running, "trainable": trainable, "non_trainable": frozen + running}
