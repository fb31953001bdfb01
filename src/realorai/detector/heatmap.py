"""Heatmaps: where in an image the detector sees AI traces.

The verdict averages up to four crops; a heatmap cuts the image into a grid of tiles (at most
``max_side`` x ``max_side``, about two per crop width) and scores each tile by one
native-resolution crop centred on it. It shows where the score comes from, not a segmentation:
the detector was trained on whole images, so a tile's score is a hint, and the tiles' mean need
not equal the verdict's P(AI). On a large photo a tile is wider than its crop: the crop samples it.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from realorai.detector.crops import Box, CropPlan, fit_small, to_uint8
from realorai.detector.score import crop_logits, sigmoid

DISPLAY_SIDE = 768  # overlays are drawn on a copy of the image at most this many pixels a side


def _tiles(length: int, size: int, max_n: int) -> list[tuple[int, int, int]]:
    """Along one axis: (tile start, tile end, crop start) for up to ``max_n`` tiles covering the
    whole length, each scored by a ``size`` crop centred on it (crops overlap on small images)."""
    n = max(1, min(max_n, math.ceil(2 * length / size) - 1))
    edges = [round(i * length / n) for i in range(n + 1)]
    out = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        crop = min(max(0, (a + b) // 2 - size // 2), max(0, length - size))
        out.append((a, b, crop))
    return out


def heatmap_tiles(width: int, height: int, size: int, max_side: int = 6) -> tuple[list[Box], list[Box]]:
    """(tiles covering the image, the crop box that scores each tile)."""
    tiles, crops = [], []
    for y0, y1, cy in _tiles(height, size, max_side):
        for x0, x1, cx in _tiles(width, size, max_side):
            tiles.append((x0, y0, x1, y1))
            crops.append((cx, cy, cx + size, cy + size))
    return tiles, crops


@dataclass(frozen=True)
class HeatInputs:
    """What a heatmap needs from a decoded image, cut while it is open: the tiles (in the image's
    coordinates), one uint8 crop per tile, and a display copy (at most DISPLAY_SIDE a side)."""

    size: tuple[int, int]
    tiles: list[Box]
    crops: np.ndarray
    display: Image.Image


def heat_inputs(plan: CropPlan, img: Image.Image, max_side: int = 6) -> HeatInputs:
    work, upsampled = fit_small(img, plan)
    tiles, boxes = heatmap_tiles(work.width, work.height, plan.size, max_side)
    crops = np.stack([to_uint8(work.crop(b)) for b in boxes])
    if upsampled:  # tiles back into the original image's coordinates
        sx, sy = img.width / work.width, img.height / work.height
        tiles = [(round(a * sx), round(b * sy), round(c * sx), round(e * sy)) for a, b, c, e in tiles]
    scale = min(1.0, DISPLAY_SIDE / max(img.size))
    w, h = max(1, round(img.width * scale)), max(1, round(img.height * scale))
    display = img.resize((w, h), Image.Resampling.BILINEAR) if scale < 1 else img.copy()  # never a full copy
    display = display if display.mode == "RGB" else display.convert("RGB")
    return HeatInputs(img.size, tiles, crops, display)


def tile_scores(model, inputs: HeatInputs) -> np.ndarray:
    """P(AI) of each tile's native crop (``crop_logits`` runs them a few crops at a time)."""
    model.eval()
    return sigmoid(crop_logits(model, inputs.crops))


def _colour(p: np.ndarray, mid: float = 0.5) -> np.ndarray:
    """P(AI) -> RGB: blue (real) through white at ``mid`` to red (AI); a diverging
    scale that most colour-blind viewers can read."""
    p = np.clip(p, 0, 1)[..., None]
    mid = min(max(mid, 1e-3), 1 - 1e-3)
    blue, white, red = np.array([33, 102, 172]), np.array([247, 247, 247]), np.array([178, 24, 43])
    low = blue + (white - blue) * (p / mid)
    high = white + (red - white) * ((p - mid) / (1 - mid))
    return np.where(p < mid, low, high).astype(np.uint8)


def overlay(
    img: Image.Image,
    boxes: list[Box],
    probs: np.ndarray,
    mid: float = 0.5,
    full_size: tuple[int, int] | None = None,
    legend: bool = True,
) -> Image.Image:
    """The image (at most DISPLAY_SIDE a side) with per-region P(AI) blended over it, and (``legend``)
    a legend under it that gives this image's range. ``img`` may be a display copy already
    (``HeatInputs.display``) of an image of ``full_size``.

    The colours are absolute, never stretched to the image's own range: white is P(AI) 0.5, which
    on the calibrated scale means "no information", so an image whose regions all score near it
    stays nearly white. Stretching 0.47-0.53 to blue-red would paint noise as evidence. The legend
    says the range instead. The page draws its own legend (``legend=False``: one legend there)."""  # fmt: skip
    fw, fh = full_size or img.size
    scale = min(1.0, DISPLAY_SIDE / max(fw, fh))
    w, h = max(1, round(fw * scale)), max(1, round(fh * scale))
    base = img.convert("RGB")
    if base.size != (w, h):
        base = base.resize((w, h), Image.Resampling.BILINEAR)
    total, count = np.zeros((h, w)), np.zeros((h, w))
    for (left, top, right, bottom), p in zip(boxes, probs, strict=True):
        sl = np.s_[round(top * scale) : max(round(bottom * scale), round(top * scale) + 1),
                   round(left * scale) : max(round(right * scale), round(left * scale) + 1)]  # fmt: skip
        total[sl] += p
        count[sl] += 1
    covered = count > 0
    heat = np.where(covered, total / np.maximum(count, 1), 0.5)
    rgb = np.asarray(base, dtype=np.float32)
    alpha = np.where(covered, 0.45, 0.0)[..., None]
    mixed = (rgb * (1 - alpha) + _colour(heat, mid) * alpha).astype(np.uint8)
    if not legend:
        return Image.fromarray(mixed)
    size = max(14, w // 40)  # legible when the picture is shown scaled down
    out = Image.new("RGB", (w, h + 14 + 2 * size), (255, 255, 255))
    out.paste(Image.fromarray(mixed), (0, 0))
    bar = _colour(np.linspace(0, 1, w), mid)[None].repeat(10, axis=0)
    out.paste(Image.fromarray(bar), (0, h + 2))
    draw = ImageDraw.Draw(out)
    font = _legend_font(size)
    low, high = (float(np.min(probs)), float(np.max(probs))) if len(probs) else (mid, mid)
    text = f"P(AI) per region, 0 real .. 1 AI; here {low:.2f}-{high:.2f} (white 0.5: no information)"
    draw.text((2, h + 13), text, fill=(0, 0, 0), font=font)
    return out


def _legend_font(size: int = 14):
    """A legible legend: Pillow's scalable default font where FreeType is there, else its bitmap one."""
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ImportError, OSError):
        return ImageFont.load_default()


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def data_uri(img: Image.Image) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(img)).decode("ascii")
