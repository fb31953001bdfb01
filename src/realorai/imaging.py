"""One way to decode an image, used by scanning, training, evaluation and prediction alike.

Every consumer goes through :func:`load_image`, so an image means the same pixels everywhere:
EXIF orientation applied, transparency composited onto white, CMYK and 16-bit converted to
8-bit RGB, the first frame of an animation. Truncated files are errors (PIL's
``LOAD_TRUNCATED_IMAGES`` is never set; a JPEG cut short but closed with an end marker, which
libjpeg pads with grey in silence, is caught by a strict entropy-data check) and oversized
images, by pixels or by the bytes their decoding needs (``realorai.limits``), are refused
before decoding.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from realorai import limits
from realorai.jpeg import jpeg_truncation
from realorai.limits import DEFAULT_MAX_PIXELS  # noqa: F401  (re-exported: the documented default)

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


def open_image(path: Source, max_pixels: int | None = None) -> Image.Image:
    """Open (header only) and check an image file or upload; raise :class:`ImageLoadError` if unusable.

    ``max_pixels`` defaults to the process's limit (``realorai.limits``, REALORAI_MAX_PIXELS)."""
    max_pixels = max_pixels or limits.current().max_pixels
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
    need, budget = decode_cost(img), limits.current().max_decoded_bytes
    if need > budget:
        img.close()
        raise ImageLoadError(
            path,
            f"decompression bomb refused: decoding {w}x{h} {img.mode} needs ~{need / 1e6:,.0f} MB, "
            f"over the limit of {budget / 1e6:,.0f} MB (REALORAI_MAX_DECODED_MB)",
            "unsupported",
        )
    return img


def decode_cost(img: Image.Image) -> int:
    """Estimated peak bytes of decoding this opened image (``limits.decoded_bytes``)."""
    alpha = "transparency" in img.info
    return limits.decoded_bytes(img.mode, img.width, img.height, alpha, bool(img.info.get("icc_profile")))


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
    if img.format in ("JPEG", "MPO"):
        truncated = jpeg_truncation(path)
        if truncated:
            raise ImageLoadError(path, f"cannot decode image data: {truncated}")
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


@contextlib.contextmanager
def opened_and_decoded(path: Source, max_pixels: int | None = None, draft: int | None = None):
    """(opened image, its RGB pixels), valid inside the ``with`` block, holding the decode's
    estimated bytes of the process's decode budget meanwhile (no copy: a 12-MP photo is 48 MB)."""
    with open_image(path, max_pixels) as img:
        budget = limits.budget()
        held = budget.acquire(decode_cost(img))
        try:
            yield img, decode(img, path, draft)
        finally:
            budget.release(held)


@contextlib.contextmanager
def decoded(path: Source, max_pixels: int | None = None, draft: int | None = None):
    """The RGB image of ``path``, valid inside the ``with`` block (see :func:`opened_and_decoded`)."""
    with opened_and_decoded(path, max_pixels, draft) as (_, rgb):
        yield rgb


def load_image(path: Source, max_pixels: int | None = None, draft: int | None = None) -> Image.Image:
    """Open, check and decode ``path`` into an RGB image, or raise :class:`ImageLoadError`."""
    with opened_and_decoded(path, max_pixels, draft) as (img, out):
        # Closing the file destroys the opened image's pixels: keep a copy only when decode
        # returned that same image (a converted or turned image is already a new one).
        return out.copy() if out is img else out
