"""Training-time augmentation, identical for both classes so that format, size and quality say
nothing about the label (B-Free; CNNDetection's blur + JPEG; Corvi et al.'s resize + JPEG).

Order follows an image's life online: rescale, crop, flip, blur, JPEG re-compression (once or twice).
"""

from __future__ import annotations

import io
import random
from dataclasses import asdict, dataclass

from PIL import Image, ImageFilter

from realorai.detector.crops import CropPlan, fit_small


@dataclass(frozen=True)
class AugmentConfig:
    p_downscale: float = 0.5
    downscale: tuple[float, float] = (0.25, 1.0)
    p_blur: float = 0.3
    blur_sigma: tuple[float, float] = (0.1, 2.0)
    p_jpeg: float = 0.5
    jpeg_quality: tuple[int, int] = (30, 100)
    p_flip: float = 0.5
    p_jpeg_twice: float = 0.0  # of the JPEG'd crops, those re-encoded a second time (shared twice online)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> AugmentConfig:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


_RESAMPLERS = (Image.Resampling.BILINEAR, Image.Resampling.BICUBIC, Image.Resampling.LANCZOS)


def jpeg_roundtrip(img: Image.Image, quality: int) -> Image.Image:
    """Really re-encode as JPEG at ``quality`` (4:2:0, as most encoders do) and decode again."""
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    with Image.open(buf) as out:
        return out.convert("RGB")


def downscale(img: Image.Image, factor: float, resample: int = Image.Resampling.BICUBIC) -> Image.Image:
    w, h = img.size
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return img.resize(size, resample)


def random_crop(img: Image.Image, size: int, rng: random.Random) -> Image.Image:
    x = rng.randint(0, img.width - size)
    y = rng.randint(0, img.height - size)
    return img.crop((x, y, x + size, y + size))


def augment(img: Image.Image, plan: CropPlan, cfg: AugmentConfig, rng: random.Random) -> Image.Image:
    """One augmented ``plan.size`` crop of an RGB image."""
    if rng.random() < cfg.p_downscale:
        img = downscale(img, rng.uniform(*cfg.downscale), rng.choice(_RESAMPLERS))
    img, _ = fit_small(img, plan)
    img = random_crop(img, plan.size, rng)
    if rng.random() < cfg.p_flip:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if rng.random() < cfg.p_blur:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(*cfg.blur_sigma)))
    if rng.random() < cfg.p_jpeg:
        img = jpeg_roundtrip(img, rng.randint(*cfg.jpeg_quality))
        if rng.random() < cfg.p_jpeg_twice:
            img = jpeg_roundtrip(img, rng.randint(*cfg.jpeg_quality))
    return img


# The shortcut-neutralising chain of the end-to-end detectors: nearly every training crop of
# either class is rescaled (down or up) and re-encoded as JPEG at a random quality, sometimes
# twice, so that a dataset's format, size and quality say nothing about the label.
NEUTRAL_CHAIN = AugmentConfig(
    p_downscale=0.7,
    downscale=(0.5, 1.5),
    p_blur=0.2,
    blur_sigma=(0.1, 1.5),
    p_jpeg=0.9,
    jpeg_quality=(50, 98),
    p_flip=0.5,
    p_jpeg_twice=0.3,
)
