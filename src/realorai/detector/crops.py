"""Where the detector looks: native-resolution crops, never a whole-image resize.

Resizing a photo to 224 px averages away the pixel-level traces that generators leave (Corvi
et al. 2023), so the detector scores up to ``grid x grid`` crops of ``size`` px taken at the
image's own resolution, spread evenly over it, and averages their logits. Images smaller than a
crop are upsampled (bicubic) until the short side fits; such scores are marked low-confidence,
because upsampling both removes and fakes high-frequency content.

Memory is bounded by the decoded image (a 50-megapixel photo is 150 MB as RGB) plus the crops.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class CropPlan:
    """How an image becomes a batch of crops; stored in every detector checkpoint."""

    size: int = 224  # images whose short side is below this are upsampled, flagged low-confidence
    grid: int = 2  # at most grid x grid crops per image

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> CropPlan:
        return cls(size=d["size"], grid=d["grid"])


Box = tuple[int, int, int, int]  # left, top, right, bottom in the (possibly upsampled) image


def _positions(length: int, size: int, n: int) -> list[int]:
    if n <= 1:
        return [(length - size) // 2]
    return [round(i * (length - size) / (n - 1)) for i in range(n)]


def crop_boxes(width: int, height: int, plan: CropPlan) -> list[Box]:
    """Evenly spread crop boxes for an image of this size (already at least ``plan.size`` each side)."""
    s = plan.size
    nx = max(1, min(plan.grid, width // s))
    ny = max(1, min(plan.grid, height // s))
    return [(x, y, x + s, y + s) for y in _positions(height, s, ny) for x in _positions(width, s, nx)]


def fit_small(img: Image.Image, plan: CropPlan) -> tuple[Image.Image, bool]:
    """Upsample an image whose short side is below the crop size; returns (image, upsampled)."""
    w, h = img.size
    if min(w, h) >= plan.size:
        return img, False
    scale = plan.size / min(w, h)
    # Cap the long side: a 1x20000 strip must not become a 224x4,480,000 image.
    new_w = min(max(plan.size, math.ceil(w * scale)), 8 * plan.size)
    new_h = min(max(plan.size, math.ceil(h * scale)), 8 * plan.size)
    return img.resize((new_w, new_h), Image.Resampling.BICUBIC), True


def to_uint8(img: Image.Image) -> np.ndarray:
    """RGB image -> uint8 array (3, H, W), the layout every backend takes."""
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8).transpose(2, 0, 1))


def plan_of(model) -> CropPlan:
    """The crop plan of a detector (torch or ONNX), from its preprocessing."""
    d = model.data_config
    return CropPlan(size=d.input_size, grid=d.crop_grid)


def image_crops(img: Image.Image, plan: CropPlan) -> tuple[np.ndarray, list[Box], bool]:
    """RGB image -> (uint8 crops (K, 3, S, S), their boxes, whether the image was upsampled)."""
    img, upsampled = fit_small(img, plan)
    boxes = crop_boxes(img.width, img.height, plan)
    crops = np.stack([to_uint8(img.crop(b)) for b in boxes])
    return crops, boxes, upsampled
