"""JPEG specifics read from a file's own data: its IJG quality, and whether its entropy-coded
data ends before the image does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def jpeg_truncation(path) -> str | None:
    """Why a JPEG's entropy-coded data ends before its last block, or None. libjpeg pads such
    data with grey and only warns (Pillow drops the warning), so a file cut short and closed
    with an end marker decodes "fine"; a strict decode at 1/8 scale (the whole bitstream is
    still read) turns that warning into an error. ``path``: a file, or anything with ``data``."""
    import simplejpeg

    try:
        data = path.data if hasattr(path, "data") else Path(path).read_bytes()
        simplejpeg.decode_jpeg(data, strict=True, min_width=1, min_height=1)
    except ValueError as e:
        if "premature end" in str(e).lower():
            return f"truncated JPEG data ({e})"
    except (OSError, RuntimeError):
        return None  # unreadable or exotic for this check: Pillow's own decode decides
    return None


def jpeg_quality(img: Image.Image) -> float | None:
    """Estimate the IJG quality (1-100) of a JPEG from its luminance quantisation table."""
    tables = getattr(img, "quantization", None)
    if not tables or 0 not in tables:
        return None
    q = np.asarray(tables[0], dtype=np.float64)
    if q.size != 64:
        return None
    # Pillow returns tables in natural (row-major) order, like the reference table below.
    scale = 100.0 * float(np.mean(q / _IJG_LUMA))
    quality = 5000.0 / scale if scale > 100 else (200.0 - scale) / 2.0
    return float(np.clip(round(quality, 1), 1, 100))


# The IJG reference luminance table (JPEG standard, Annex K), natural order.
# fmt: off
_IJG_LUMA = np.array(
    [
         16,  11,  10,  16,  24,  40,  51,  61,
         12,  12,  14,  19,  26,  58,  60,  55,
         14,  13,  16,  24,  40,  57,  69,  56,
         14,  17,  22,  29,  51,  87,  80,  62,
         18,  22,  37,  56,  68, 109, 103,  77,
         24,  35,  55,  64,  81, 104, 113,  92,
         49,  64,  78,  87, 103, 121, 120, 101,
         72,  92,  95,  98, 112, 100, 103,  99,
    ],
    dtype=np.float64,
)
# fmt: on
