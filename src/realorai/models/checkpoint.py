"""Self-describing checkpoints: safetensors weights plus JSON metadata in the same file.

The metadata holds everything needed to rebuild and use the model (name, classes,
preprocessing, decision threshold, validation metrics, training config, library versions), so
``predict`` and ``evaluate`` need nothing but the file. No pickle is involved in loading.
Reading the metadata needs no torch; saving and loading weights do.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from safetensors import safe_open

from realorai import CLASSES, __version__
from realorai.atomic import write_with
from realorai.models.meta_check import check_head, check_meta
from realorai.models.registry import DataConfig, create_model

FORMAT = "realorai-checkpoint/1"
ADAPTED_FORMAT = "realorai-adapted/1"  # a head adapted to one source on a frozen detector's features
ADAPTED = "adapted.safetensors"
BEST, LAST = "best.safetensors", "last.safetensors"
SEEN_LIMIT = 100_000  # files whose hashes a checkpoint records (none past this many)


def versions() -> dict:
    import timm
    import torch
    import torchvision

    return {
        "realorai": __version__,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "timm": timm.__version__,
        "python": platform.python_version(),
    }


def save_checkpoint(path: str | Path, model, meta: dict) -> Path:
    import safetensors.torch

    meta = {
        "format": FORMAT,
        "model": model.realorai_name,
        "classes": list(CLASSES),
        "data_config": model.data_config.to_dict(),
        "versions": versions(),
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **meta,
    }
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    return write_with(
        path, lambda p: safetensors.torch.save_file(state, str(p), metadata={"realorai": json.dumps(meta)})
    )


def resolve_checkpoint(path: str | Path) -> Path:
    """A run folder means its best checkpoint (or the head ``realorai adapt`` wrote there); a
    file is taken as it is."""
    path = Path(path)
    if path.is_dir():
        path = path / BEST if (path / BEST).is_file() or not (path / ADAPTED).is_file() else path / ADAPTED
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no checkpoint here (train one with `realorai train`)")
    return path


def read_meta(path: str | Path, formats: tuple[str, ...] = (FORMAT,)) -> dict:
    path = resolve_checkpoint(path)
    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = json.loads((f.metadata() or {}).get("realorai", "{}"))
    except Exception as e:
        raise ValueError(f"{path}: not a readable realorai checkpoint ({e})") from e
    if not isinstance(meta, dict) or meta.get("format") not in formats:
        fmt = meta.get("format") if isinstance(meta, dict) else None
        raise ValueError(f"{path}: not a realorai checkpoint (format {fmt!r})")
    return check_meta(path, meta)


def checkpoint_format(path: str | Path) -> str:
    """The format a safetensors checkpoint declares ("" when it declares none)."""
    try:
        with safe_open(str(resolve_checkpoint(path)), framework="numpy") as f:
            return json.loads((f.metadata() or {}).get("realorai", "{}")).get("format", "")
    except Exception:
        return ""


def save_adapted(path: str | Path, arrays: dict, meta: dict) -> Path:
    """An adapted head: its arrays (numpy) and metadata, in one small safetensors file (no torch)."""
    import numpy as np
    from safetensors.numpy import save_file

    meta = {"format": ADAPTED_FORMAT, "saved_at": datetime.now(UTC).isoformat(timespec="seconds"), **meta}
    tensors = {k: np.ascontiguousarray(v, dtype=np.float64) for k, v in arrays.items()}
    return write_with(path, lambda p: save_file(tensors, str(p), metadata={"realorai": json.dumps(meta)}))


def load_adapted(path: str | Path) -> tuple[dict, dict]:
    """(arrays, metadata) of an adapted head, checked: finite numbers only."""
    from safetensors.numpy import load_file

    path = resolve_checkpoint(path)
    meta = read_meta(path, (ADAPTED_FORMAT,))
    arrays = load_file(str(path))
    check_head(path, arrays)
    return arrays, meta


def load_checkpoint(path: str | Path, device="cpu"):
    """Rebuild the model described by the checkpoint and load its weights (no download needed)."""
    import safetensors.torch
    import torch

    path = resolve_checkpoint(path)
    meta = read_meta(path)
    try:
        model = create_model(meta["model"], num_classes=len(meta["classes"]), pretrained=False)
    except KeyError as e:
        raise ValueError(f"{path}: names model {meta.get('model')!r}, which this realorai does not know ({e})") from e
    model.data_config = DataConfig.from_dict(meta["data_config"])
    state = safetensors.torch.load_file(str(path))
    broken = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if broken:
        raise ValueError(f"{path}: weights contain NaN or infinity ({', '.join(broken[:3])}): a broken checkpoint")
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise ValueError(f"{path}: weights do not fit model {meta['model']!r} ({str(e).splitlines()[0]})") from e
    model.realorai_precision = (meta.get("config") or {}).get("precision", "fp32")
    return model.to(device).eval(), meta


def load_training_state(path: str | Path) -> dict:
    """The state an interrupted training run left (model, optimizer, history...), refusing
    anything but plain data: a run folder received from elsewhere must never run code (a pickle
    can); training state is tensors, numbers, lists and dicts only."""
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # UnpicklingError for anything but plain data
        raise ValueError(f"{path}: refused to load (not plain training state: {type(e).__name__})") from e


def seen_prefixes(*parts, limit: int = SEEN_LIMIT) -> list[str]:
    """64-bit sha256 prefixes of the files a model was fitted or calibrated on (empty past
    ``limit`` files), recorded in its checkpoint so evaluation can refuse to score them."""
    hashes = [h[:16] for part in parts for h in part["sha256"].astype(str)]
    return sorted(hashes) if len(hashes) <= limit else []


def seen_in(meta: dict, sha256s: Iterable[str]) -> list[bool]:
    """For each file hash, whether the checkpoint described by ``meta`` was fitted or calibrated on it."""
    seen = set(meta.get("seen_sha256_prefixes") or [])
    return [bool(h) and h[:16] in seen for h in sha256s]
