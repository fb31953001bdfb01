"""Training options for the report's models: ``resolve_config`` (preset < file < flags), checks."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from realorai.models import get_spec


@dataclass(frozen=True)
class TrainConfig:
    model: str
    manifest: str
    epochs: int = 30
    batch_size: int = 32
    optimizer: str = "adam"  # adam | sgd
    lr: float = 1e-3
    momentum: float = 0.9  # sgd only
    weight_decay: float = 0.0
    augment: bool = True  # flips, rotation, brightness (the report's)
    aug_views: int = 3  # frozen backbones: augmented feature copies cached per image
    class_weighted: bool = False  # weight the loss by inverse class frequency
    pretrained: bool = True
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    patience: int = 0  # stop after this many epochs without validation improvement; 0 = never
    # "bf16" runs forward passes under bfloat16 autocast: ~1.6x faster on CPUs with AMX/AVX512-BF16
    # and on GPUs, at slightly different numerics. Checkpoints stay float32.
    precision: str = "fp32"  # fp32 | bf16


def resolve_config(model: str, manifest: str, config_file: str | Path | None = None, **overrides) -> TrainConfig:
    """Defaults < the model's preset (the report's settings) < a JSON/TOML file < overrides."""
    values: dict = {"model": model, "manifest": str(manifest), **get_spec(model).preset}
    if config_file:
        try:
            text = Path(config_file).read_text()
            values.update(tomllib.loads(text) if str(config_file).endswith(".toml") else json.loads(text))
        except (OSError, ValueError) as e:  # TOMLDecodeError and JSONDecodeError are ValueErrors
            raise ValueError(f"{config_file}: cannot read training options ({e})") from e
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(TrainConfig)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"unknown training option(s): {', '.join(sorted(unknown))}")
    cfg = TrainConfig(**values)
    check_config(cfg, config_file)
    return cfg


def check_config(cfg: TrainConfig, source: object = None) -> None:
    """Types and ranges, with a message naming the option (a TOML file may hold anything)."""
    where = f" (from {source})" if source else ""
    for f in fields(TrainConfig):
        value, kind = getattr(cfg, f.name), f.type
        expected = {"int": int, "float": (int, float), "bool": bool, "str": str}.get(kind)
        if expected and (not isinstance(value, expected) or (kind in ("int", "float") and isinstance(value, bool))):
            raise ValueError(f"training option {f.name!r} must be {kind}, got {value!r}{where}")
    for name in ("epochs", "batch_size"):
        if getattr(cfg, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(cfg, name)}{where}")
    if cfg.lr <= 0:
        raise ValueError(f"--lr must be positive, got {cfg.lr}{where}")


# Options that may change when a run is resumed: more epochs, or a different patience.
RESUMABLE_CHANGES = ("epochs", "patience")
