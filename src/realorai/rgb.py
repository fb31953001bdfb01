"""8-bit RGB from any Pillow mode, the same way every time: colour profiles to sRGB,
transparency onto white, 16-bit and float grey scaled by bit depth (``imaging.decode`` applies
these after decoding)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

# Profiles that already are sRGB (by description): no conversion needed.
SRGB_NAMES = {"", "sRGB", "sRGB IEC61966-2.1", "sRGB IEC61966-2-1 black scaled", "sRGB built-in"}


def color_space(img: Image.Image) -> str:
    """The embedded ICC profile's description ("" when there is none or it is unreadable)."""
    icc = img.info.get("icc_profile")
    if not icc:
        return ""
    try:
        from PIL import ImageCms

        return ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip()
    except Exception:
        return "unreadable ICC profile"


def to_srgb(img: Image.Image, icc: bytes) -> Image.Image | None:
    """Pixels as they are meant to look, in sRGB (a Display P3 photo is not an sRGB one); None
    when the profile already is sRGB or cannot be applied (the stored values are then used)."""
    if color_space(img) in SRGB_NAMES:
        return None
    try:
        from PIL import ImageCms

        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if img.mode not in ("RGB", "CMYK", "L"):
            img = to_rgb(img)  # transparency composited on white first, as everywhere
        out = ImageCms.profileToProfile(img, src, ImageCms.createProfile("sRGB"), outputMode="RGB")
        return out if out is not None else None
    except Exception:
        return None


def to_rgb(img: Image.Image) -> Image.Image:
    """Convert any PIL mode to RGB the same way every time."""
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return Image.fromarray(_to_grey8(img), "L").convert("RGB")
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in img.info
        img = img.convert("RGBA" if has_alpha else "RGB")
        if not has_alpha:
            return img
        mode = "RGBA"
    if mode in ("RGBA", "LA", "La", "RGBa") or (mode == "L" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV


def _to_grey8(img: Image.Image, rows: int = 256) -> np.ndarray:
    """16-bit, 32-bit and float grey to 8 bits, a band of rows at a time: converting a 120-MP
    16-bit image at once in float64 took 4 GB; this holds the 1-byte result and one band."""
    # Integers scale by the bit depth, never by the image's own maximum: a dark 16-bit image
    # stays dark (Pillow opens 16-bit files as I;16*, or I for some PNGs and TIFFs). Floats are
    # [0, 1] (scaled to 255) or already 0-255.
    factor = 1.0 / 257.0
    if img.mode == "F":
        factor = 255.0 if (img.getextrema()[1] or 0) <= 1.0 else 1.0
    out = np.empty((img.height, img.width), dtype=np.uint8)
    for top in range(0, img.height, rows):
        band = np.asarray(img.crop((0, top, img.width, min(img.height, top + rows))), dtype=np.float64)
        out[top : top + rows] = np.clip(band * factor + 0.5, 0, 255).astype(np.uint8)
    return out
