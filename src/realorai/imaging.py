"""One way to decode an image, used by scanning, training, evaluation and prediction alike.

Every consumer goes through :func:`load_image`, so an image means the same pixels everywhere:
EXIF orientation applied, transparency composited onto white, CMYK and 16-bit converted to
8-bit RGB, the first frame of an animation. Truncated files are errors (PIL's
``LOAD_TRUNCATED_IMAGES`` is never set) and oversized images are refused before decoding.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# Refuse images above this many pixels before decoding them (a 12,000 x 10,000 photo is fine;
# a 50,000 x 50,000 "bomb" that would need 7.5 GB of RAM is not).
DEFAULT_MAX_PIXELS = 120_000_000

# Pillow's own bomb check (a warning at 89.5 MP, an error at 179 MP) is replaced by the explicit
# limit above, checked from the header in open_image before any pixel is decoded. Warnings are
# never turned into errors: that is process-global and not thread-safe, so parallel scans
# classified the same file differently from run to run.
Image.MAX_IMAGE_PIXELS = None

# Raster formats that Pillow decodes and people upload (AVIF and ICO included); document and
# container formats it also opens (PDF, EPS, MPEG, HDF5...) are not images to score.
IMAGE_EXTENSIONS = frozenset(
    {
        ".jpg",
        ".jpeg",
        ".jpe",
        ".jfif",
        ".png",
        ".apng",
        ".webp",
        ".gif",
        ".bmp",
        ".dib",
        ".tif",
        ".tiff",
        ".avif",
        ".avifs",
        ".ico",
        ".mpo",
        ".jp2",
        ".j2k",
        ".jpx",
        ".qoi",
        ".tga",
        ".ppm",
        ".pgm",
        ".pbm",
        ".pnm",
    }
)


@dataclass(frozen=True)
class Upload:
    """An image held in memory (an HTTP upload): decoded like a file, never written to disk."""

    name: str
    data: bytes

    def __str__(self) -> str:
        return self.name


Source = str | Path | Upload  # what every decoder accepts

# Reasons that mean "this is not an image at all" (HTTP 415), as opposed to a broken one (422).
NOT_AN_IMAGE = ("empty file", "not a recognised image format")


class ImageLoadError(Exception):
    """An image that cannot be used; ``status`` is ``corrupt`` or ``unsupported``."""

    def __init__(self, path: str | Path, reason: str, status: str = "corrupt") -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason
        self.status = status


def walk_files(root: str | Path) -> list[Path]:
    """Every file below ``root``, sorted, following symbolic links to folders (class folders are
    often links to a shared copy) but never into a loop."""
    seen: set[str] = set()
    files: list[Path] = []
    for folder, dirs, names in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        files += [Path(folder) / n for n in names if os.path.isfile(os.path.join(folder, n))]
    return sorted(files)


def open_image(path: Source, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open (header only) and check an image file or upload; raise :class:`ImageLoadError` if unusable."""
    if isinstance(path, Upload):
        size, fp = len(path.data), io.BytesIO(path.data)
    else:
        path = Path(path)
        try:
            size, fp = path.stat().st_size, path
        except OSError as e:
            raise ImageLoadError(path, f"cannot read file: {e.strerror or e}") from e
    if size == 0:
        raise ImageLoadError(path, "empty file (0 bytes)")
    try:
        img = Image.open(fp)  # reads the header only; the size is checked below, before decoding
    except UnidentifiedImageError as e:
        raise ImageLoadError(path, "not a recognised image format (cannot identify image file)") from e
    except OSError as e:
        raise ImageLoadError(path, f"cannot open image: {e}") from e
    except (ValueError, SyntaxError, EOFError) as e:  # e.g. Pillow's limit on PNG text chunks
        raise ImageLoadError(path, f"cannot open image: {type(e).__name__}: {e}") from e
    w, h = img.size
    if w * h > max_pixels:
        img.close()
        raise ImageLoadError(
            path,
            f"decompression bomb refused: {w}x{h} = {w * h:,} pixels exceeds limit {max_pixels:,}",
            "unsupported",
        )
    if w == 0 or h == 0:
        img.close()
        raise ImageLoadError(path, f"image has zero size ({w}x{h})")
    return img


def decode(img: Image.Image, path: Source = "<image>", draft: int | None = None) -> Image.Image:
    """Fully decode an opened image into 8-bit RGB, applying the project's conversion rules.

    ``draft`` lets JPEG decode at a reduced scale (>= ``draft`` px on each side) for speed;
    the whole bitstream is still read, so truncation is still detected.
    """
    try:
        if getattr(img, "n_frames", 1) > 1:
            img.seek(0)  # animated images: first frame
        if draft and img.format == "JPEG":
            img.draft("RGB", (draft, draft))
        img.load()
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageLoadError(path, f"cannot decode image data: {e}") from e
    # A malformed EXIF orientation keeps the stored orientation: the pixels themselves are fine.
    # Only an image that needs turning is transposed (exif_transpose copies even when it does not).
    with contextlib.suppress(Exception):
        if img.getexif().get(0x0112, 1) != 1:
            img = ImageOps.exif_transpose(img) or img
    icc = img.info.get("icc_profile")
    if icc and color_space(img) not in SRGB_NAMES:
        converted = _to_srgb(img, icc)
        if converted is not None:
            return converted
    return to_rgb(img)


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


def _to_srgb(img: Image.Image, icc: bytes) -> Image.Image | None:
    """Pixels as they are meant to look, in sRGB (a Display P3 photo is not an sRGB one); None
    when the profile cannot be applied, and the stored values are then used as they are."""
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
        arr = np.asarray(img, dtype=np.float64)
        if mode == "F" and arr.size and arr.max() <= 1.0:
            arr = arr * 255.0
        elif mode != "F":
            # Scale by the bit depth, never by the image's own maximum: a dark 16-bit image
            # stays dark. Pillow opens 16-bit files as I;16* (or I for some PNGs and TIFFs).
            arr = arr / 257.0
        return Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8), "L").convert("RGB")
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


@contextlib.contextmanager
def decoded(path: Source, max_pixels: int = DEFAULT_MAX_PIXELS, draft: int | None = None):
    """The RGB image of ``path``, valid inside the ``with`` block (no copy: a 12-MP photo is 36 MB)."""
    with open_image(path, max_pixels) as img:
        yield decode(img, path, draft)


def load_image(path: Source, max_pixels: int = DEFAULT_MAX_PIXELS, draft: int | None = None) -> Image.Image:
    """Open, check and decode ``path`` into an RGB image, or raise :class:`ImageLoadError`."""
    with open_image(path, max_pixels) as img:
        out = decode(img, path, draft)
        # Closing the file destroys the opened image's pixels: keep a copy only when decode
        # returned that same image (a converted or turned image is already a new one).
        return out.copy() if out is img else out


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
