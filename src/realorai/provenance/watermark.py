"""Invisible watermarks that Stable Diffusion's public reference code embeds (invisible-watermark).

Checked payloads, all embedded with the ``dwtDct`` method:
- ``StableDiffusionV1`` (bytes, 136 bits): CompVis stable-diffusion ``scripts/txt2img.py``;
- ``StableDiffusionV1-Inpainting`` (bytes, 224 bits): runwayml's inpainting scripts;
- ``SDV2`` (bytes, 32 bits): Stability-AI stablediffusion (SD 2.x) scripts;
- SDXL's 48-bit message ``0b101100111110110010010000011110111011000110011110``: Stability-AI
  generative-models and diffusers' ``StableDiffusionXLWatermarker``.

An unmarked image agrees with a payload on about half its bits. A payload matches when so many
bits agree that chance would do it at most once in a million images (see ``min_agreeing_bits``:
30 of 32, 41 of 48, 96 of 136, 148 of 224 bits). The marks do not survive JPEG re-encoding or
resizing, and even fresh marks decode imperfectly on some content, so absence proves nothing.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from realorai.provenance.findings import Finding

# A payload of L bits matches when at least k bits agree, with k the smallest count that an
# unmarked image (bits agreeing by chance, p = 1/2) reaches with probability <= FALSE_MATCH_RATE.
FALSE_MATCH_RATE = 1e-6
# The dwtDct mark assigns bit (block_index mod L) over 8x8-pixel blocks in row-major order, so
# a band of rows from the top, full width, has the same bit layout as the whole image with
# fewer votes per bit. Decoding a band with VOTES_PER_BIT votes for the longest payload bounds
# the cost on large photos; one pass of the library's per-block decoder serves every payload.
VOTES_PER_BIT = 32


def _bits(data: bytes) -> np.ndarray:
    return np.unpackbits(np.frombuffer(data, dtype=np.uint8))


PAYLOADS: dict[str, np.ndarray] = {
    "StableDiffusionV1": _bits(b"StableDiffusionV1"),
    "StableDiffusionV1-Inpainting": _bits(b"StableDiffusionV1-Inpainting"),
    "SDV2": _bits(b"SDV2"),
    "SDXL": np.array([int(b) for b in bin(0b101100111110110010010000011110111011000110011110)[2:]], dtype=np.uint8),
}


def min_agreeing_bits(length: int, rate: float = FALSE_MATCH_RATE) -> int:
    """Smallest k with P(Binomial(length, 1/2) >= k) <= rate."""
    tail = 0.0
    for k in range(length, -1, -1):
        tail += math.comb(length, k) / 2**length
        if tail > rate:
            return k + 1
    return 0


def frame_scores(frame: np.ndarray, scale: float, block: int = 4) -> np.ndarray:
    """Vectorised ``EmbedMaxDct.decode_frame`` + ``infer_dct_matrix`` of invisible-watermark: per
    block (row-major), 1 if the largest non-DC coefficient's magnitude mod ``scale`` exceeds
    ``scale / 2``. Same arithmetic and tie-breaking (first maximum) as the library; a test checks
    it bit for bit against the library's loop, which is ~30x slower."""
    rows, cols = frame.shape[0] // block, frame.shape[1] // block
    blocks = frame[: rows * block, : cols * block].reshape(rows, block, cols, block).swapaxes(1, 2)
    blocks = blocks.reshape(rows * cols, block * block)
    pos = np.argmax(np.abs(blocks[:, 1:]), axis=1) + 1
    val = np.abs(blocks[np.arange(len(blocks)), pos])
    return (val % scale > 0.5 * scale).astype(np.float64)


# invisible-watermark's EmbedMaxDct default scales for the Y, U and V channels (Y is unused).
SCALES = (0, 36, 36)


def rgb_to_yuv(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB (H, W, 3) -> uint8 YUV as OpenCV's ``cvtColor(BGR2YUV)`` computes it: BT.601
    weights in 14-bit fixed point, rounded, saturated (identical on all 16.7 million colours;
    tests/test_provenance.py checks it against OpenCV where it is installed)."""
    r, g, b = (rgb[..., i].astype(np.int32) for i in range(3))
    shift, half = 14, 1 << 13
    y = (r * 4899 + g * 9617 + b * 1868 + half) >> shift
    u = ((b - y) * 8061 + (128 << shift) + half) >> shift
    v = ((r - y) * 14369 + (128 << shift) + half) >> shift
    return np.stack([y, np.clip(u, 0, 255), np.clip(v, 0, 255)], -1).astype(np.uint8)


def block_scores(rgb: Image.Image) -> np.ndarray:
    """Per-block watermark scores (row-major) over a top band of the image, as invisible-watermark's
    dwtDct decoder computes them before averaging per bit; any payload length can then be read
    from this one pass. Needs PyWavelets only (not the library, which requires torch)."""
    import pywt

    w, h = rgb.size
    pixels = VOTES_PER_BIT * max(len(p) for p in PAYLOADS.values()) * 64
    rows = min(h, -(-pixels // w // 8) * 8)
    yuv = rgb_to_yuv(np.asarray(rgb.crop((0, 0, w, rows)), dtype=np.uint8))
    scales = SCALES
    parts = []
    for channel in range(2):  # as the library decodes: channels 0-1, those with a positive scale
        if scales[channel] > 0:
            ca1, _ = pywt.dwt2(yuv[: rows // 4 * 4, : w // 4 * 4, channel], "haar")
            parts.append(frame_scores(ca1, scales[channel]))
    return np.concatenate(parts)


def agreements(rgb: Image.Image) -> dict[str, float]:
    """Fraction of each known payload's bits that the image carries."""
    scores = block_scores(rgb)
    out = {}
    for name, expected in PAYLOADS.items():
        n = len(expected)
        votes = np.bincount(np.arange(len(scores)) % n, weights=scores, minlength=n)
        counts = np.bincount(np.arange(len(scores)) % n, minlength=n)
        bits = (votes / np.maximum(counts, 1) * 255 > 127).astype(np.uint8)
        out[name] = float((bits == expected).mean())
    return out


def inspect_watermark(rgb: Image.Image) -> list[Finding]:
    w, h = rgb.size
    if w * h < 256 * 256:
        return []  # too small to carry the mark (the reference encoders skip such images)
    try:
        scores = agreements(rgb)
    except Exception as e:
        return [Finding("watermark", "watermark check failed", "invalid", None, f"{type(e).__name__}: {e}")]
    detail = ", ".join(f"{k}={v:.2f}" for k, v in scores.items())
    matches = [k for k, v in scores.items() if v * len(PAYLOADS[k]) >= min_agreeing_bits(len(PAYLOADS[k]))]
    if matches:
        best = max(matches, key=scores.get)
        return [
            Finding(
                "watermark",
                f"Stable Diffusion invisible watermark '{best}' (dwtDct), {scores[best]:.0%} bit agreement",
                "strong",
                "ai",
                detail,
            )
        ]
    return []
