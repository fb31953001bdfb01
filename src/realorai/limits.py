"""How large an image may be: one pixel limit and one decode budget, read by every decoder.

Both come from the environment (``REALORAI_MAX_PIXELS``, ``REALORAI_MAX_DECODED_MB``) when the
process starts; ``realorai serve`` sets them from its settings. Pixels alone do not bound memory:
a 233 KB 16-bit PNG of 120 megapixels decodes to gigabytes if converted carelessly. So every
decode first *estimates* the bytes it will hold (pixels x bytes per pixel of the stored mode,
plus the RGB copy and any compositing), refuses an image whose estimate exceeds the budget, and
holds that many bytes of a process-wide :class:`DecodeBudget` while it decodes: however many
threads and requests decode at once, decoded pixels never take more than the budget.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

MAX_ADAPT_VIEWS = 16  # augmented views per example in `realorai adapt`: each is a decode and a feature pass

DEFAULT_MAX_PIXELS = 120_000_000  # a 12,000 x 10,000 photo is fine; a 50,000 x 50,000 bomb is not
DEFAULT_MAX_DECODED_MB = 1024  # a 120-MP RGB JPEG needs 480 MB by the estimate below, 960 MB with a profile

# Bytes Pillow stores per pixel, by mode (RGB is padded to 4; LA is stored as 4 too).
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
_ALPHA_MODES = {"RGBA", "LA", "La", "PA", "RGBa"}


@dataclass(frozen=True)
class Limits:
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_decoded_bytes: int = DEFAULT_MAX_DECODED_MB * 1_000_000


def _env_int(name: str, default: float, scale: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return int(default * scale)
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: not a number") from None
    if value <= 0:
        raise ValueError(f"{name}={raw!r}: must be positive")
    return int(value * scale)


def from_env() -> Limits:
    return Limits(
        _env_int("REALORAI_MAX_PIXELS", DEFAULT_MAX_PIXELS),
        _env_int("REALORAI_MAX_DECODED_MB", DEFAULT_MAX_DECODED_MB, 1_000_000),
    )


# Bytes a decoder holds beyond the stored pixels, per pixel, measured (benchmarks/serve_memory.py,
# peak resident memory of one decode in a fresh process, Pillow 13): libwebp decodes into its own
# RGBA buffer before Pillow copies it (16 B/px for an RGB WebP, 28 for RGBA), libavif into YUV
# planes (9.4), OpenJPEG into 32-bit planes per channel (19.4); libjpeg's own buffers 0.3.
_DECODER_EXTRA = {"WEBP": 12, "AVIF": 6, "JPEG2000": 16, "JPEG": 1, "MPO": 1}


def decoded_bytes(
    mode: str, width: int, height: int, has_alpha: bool = False, icc: bool = False, fmt: str = "",
    rotated: bool = False,
) -> int:  # fmt: skip
    """Estimated peak bytes of decoding an image of this mode and size into 8-bit RGB: the
    stored pixels (RGB is padded to 4 bytes in Pillow), an RGB copy unless stored as RGB, for
    transparency the white background and composite (12 more), for an ICC profile the converted
    copy (4 more), for 16-bit and float images their 1-byte grey intermediate, the decoder's own
    buffers (``_DECODER_EXTRA``), and for an EXIF-rotated image the turned copy (4 more)."""
    stored = _BYTES_PER_PIXEL.get(mode, 4)
    per_pixel = stored + (0 if mode == "RGB" else 4)
    per_pixel += 12 if (mode in _ALPHA_MODES or has_alpha) else 0
    per_pixel += 4 if icc else 0
    per_pixel += 1 if stored == 2 or mode in ("I", "F") else 0
    per_pixel += _DECODER_EXTRA.get(fmt, 0)
    per_pixel += 4 if rotated else 0
    return width * height * per_pixel


class DecodeBudget:
    """Bytes of decoded pixels held at once, across threads; ``hold(n)`` waits for room."""

    def __init__(self, capacity: int) -> None:
        self.capacity, self.used = capacity, 0
        self._cond = threading.Condition()

    def acquire(self, n: int) -> int:
        n = min(n, self.capacity)  # callers refuse larger images first; never wait forever
        with self._cond:
            self._cond.wait_for(lambda: self.used + n <= self.capacity)
            self.used += n
        return n

    def release(self, n: int) -> None:
        with self._cond:
            self.used -= n
            self._cond.notify_all()


def return_freed_memory() -> None:
    """Make the C allocator give freed image buffers back to the system (glibc only; else a
    no-op). By default glibc raises its mmap threshold after the first large free, and then
    keeps later image buffers in per-thread arenas: each decode thread held on to its own
    peak, and the server grew past the decode budget. A fixed threshold keeps every buffer of
    128 KB or more mapped on its own, returned when freed."""
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD: fixed, so never raised
    except (OSError, AttributeError):
        pass


_current = from_env()
_budget = DecodeBudget(_current.max_decoded_bytes)


def current() -> Limits:
    return _current


def budget() -> DecodeBudget:
    return _budget


def set_limits(max_pixels: int | None = None, max_decoded_bytes: int | None = None) -> Limits:
    """Change the process's limits (the server does, from its settings); returns the new ones."""
    global _current, _budget
    new = Limits(max_pixels or _current.max_pixels, max_decoded_bytes or _current.max_decoded_bytes)
    if new.max_decoded_bytes != _budget.capacity:
        _budget = DecodeBudget(new.max_decoded_bytes)
    _current = new
    return new
