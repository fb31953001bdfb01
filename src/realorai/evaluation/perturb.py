"""The robustness sweep: each image changed in memory the way images are changed online."""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import partial

from PIL import Image, ImageFilter

from realorai.detector.augment import downscale, jpeg_roundtrip


def _png_resave(img: Image.Image) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    buf.seek(0)
    with Image.open(buf) as out:
        return out.convert("RGB")


def _center_crop(img: Image.Image, fraction: float = 0.5) -> Image.Image:
    w, h = max(1, round(img.width * fraction)), max(1, round(img.height * fraction))
    left, top = (img.width - w) // 2, (img.height - h) // 2
    return img.crop((left, top, left + w, top + h))


def _blur(img: Image.Image, sigma: float = 1.0) -> Image.Image:
    return img.filter(ImageFilter.GaussianBlur(sigma))


# Module-level callables (not lambdas) so that DataLoader worker processes can receive them.
PERTURBATIONS: dict[str, Callable[[Image.Image], Image.Image] | None] = {
    "as is": None,
    "JPEG q90": partial(jpeg_roundtrip, quality=90),
    "JPEG q75": partial(jpeg_roundtrip, quality=75),
    "JPEG q50": partial(jpeg_roundtrip, quality=50),
    "downscale 0.5x": partial(downscale, factor=0.5),
    "blur sigma 1": _blur,
    "center crop 50%": _center_crop,
    "PNG re-save": _png_resave,
}
