"""Pixels to tensors, resolved from a model's :class:`DataConfig`; never repeated by callers.

Decoding is the expensive part (a 12-megapixel JPEG takes ~0.1 s), so each image is decoded
and resized once into a uint8 tensor; augmentation and normalisation work on those.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torchvision.transforms.v2 as T
from PIL import Image

from realorai.imaging import ImageLoadError, load_image
from realorai.models.registry import DataConfig, normalize  # noqa: F401  (re-exported for the family)
from realorai.progress import progress_bar

_RESAMPLE = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC}


def resize_for_model(img: Image.Image, cfg: DataConfig) -> torch.Tensor:
    """RGB PIL image -> uint8 tensor (3, S, S) as the model expects it."""
    size = cfg.input_size
    resample = _RESAMPLE[cfg.interpolation]
    if cfg.resize == "squash":
        img = img.resize((size, size), resample)
    elif cfg.resize == "center_crop":
        # Crop the region that ends up in the model's input first, then resize only that: a
        # 1 x 100,000 strip must not be scaled to 256 x 25.6 million pixels on the way.
        short = int(math.floor(size / cfg.crop_pct))
        w, h = img.size
        scale = short / min(w, h)
        side = size / scale  # the crop's side in original pixels
        left, top = (w - side) / 2, (h - side) / 2
        box = (max(0.0, left), max(0.0, top), min(w, left + side), min(h, top + side))
        img = img.resize((size, size), resample, box=box)
    else:
        raise ValueError(f"unknown resize mode {cfg.resize!r}")
    return torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()


def build_augment(rotation: float = 20.0, brightness: float = 0.2) -> T.Compose:
    """The report's augmentation: horizontal/vertical flips, rotation, brightness."""
    return T.Compose(
        [
            T.RandomHorizontalFlip(),
            T.RandomVerticalFlip(),
            T.RandomRotation(rotation),
            T.ColorJitter(brightness=brightness),
        ]
    )


def augment_batch(x: torch.Tensor, augment: T.Compose) -> torch.Tensor:
    """Apply ``augment`` independently to each uint8 image of a batch."""
    return torch.stack([augment(img) for img in x])


def load_tensor(path: str | Path, cfg: DataConfig) -> torch.Tensor:
    img = load_image(path, draft=cfg.input_size * 2)
    return resize_for_model(img, cfg)


def load_tensors(
    paths: list[str], cfg: DataConfig, show_progress: bool = True, desc: str = "decode"
) -> tuple[torch.Tensor, list[int], dict[str, str]]:
    """Decode ``paths`` in parallel. Returns (uint8 tensor of the good ones, their indices,
    {path: reason} for the ones that failed)."""

    def one(path: str) -> torch.Tensor | ImageLoadError:
        try:
            return load_tensor(path, cfg)
        except ImageLoadError as e:
            return e
        except Exception as e:  # never let one file stop a batch of thousands
            return ImageLoadError(path, f"unexpected decoder error: {type(e).__name__}: {e}")

    good: list[torch.Tensor] = []
    index: list[int] = []
    errors: dict[str, str] = {}
    with (
        ThreadPoolExecutor(min(8, os.cpu_count() or 1)) as pool,
        progress_bar(desc, len(paths), show_progress) as advance,
    ):
        for i, result in enumerate(pool.map(one, paths)):
            if isinstance(result, ImageLoadError):
                errors[paths[i]] = result.reason
            else:
                good.append(result)
                index.append(i)
            advance()
    return _stack(good, cfg), index, errors


def _stack(images: list[torch.Tensor], cfg: DataConfig) -> torch.Tensor:
    """Stack uint8 images; an empty list gives an empty (0, 3, S, S) batch."""
    size = cfg.input_size
    return torch.stack(images) if images else torch.empty(0, 3, size, size, dtype=torch.uint8)


class TensorCache:
    """Decoded tensors keyed by (path, preprocessing): several models with the same input
    preprocessing (e.g. in ``reproduce``) decode each image only once."""

    def __init__(self) -> None:
        self._store: dict[tuple[str, DataConfig], torch.Tensor] = {}
        self._errors: dict[str, str] = {}

    def get(
        self, paths: list[str], cfg: DataConfig, show_progress: bool = True
    ) -> tuple[torch.Tensor, list[int], dict[str, str]]:
        """Like :func:`load_tensors`, reusing images decoded before with the same preprocessing."""
        key_cfg = replace(cfg, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))  # normalisation does not change pixels
        missing = [p for p in dict.fromkeys(paths) if (p, key_cfg) not in self._store and p not in self._errors]
        if missing:
            tensors, index, errors = load_tensors(missing, cfg, show_progress)
            self._errors.update(errors)
            for t, i in zip(tensors, index, strict=True):
                self._store[(missing[i], key_cfg)] = t
        index = [i for i, p in enumerate(paths) if (p, key_cfg) in self._store]
        stacked = _stack([self._store[(paths[i], key_cfg)] for i in index], cfg)
        return stacked, index, {p: self._errors[p] for p in paths if p in self._errors}
