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

from PIL import Image, ImageOps, UnidentifiedImageError

from realorai import containers, limits
from realorai.jpeg import jpeg_truncation
from realorai.limits import DEFAULT_MAX_PIXELS  # noqa: F401  (re-exported: the documented default)
from realorai.rgb import to_rgb, to_srgb

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
    decoded: bool = False  # made from pixels (a PIL image, an array): no file metadata or credential came with it

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
    _check_container(path, fp, max_pixels)
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
            f"decompression bomb refused: decoding {w}x{h} {img.format or ''} {img.mode} needs ~{need / 1e6:,.0f} MB, "
            f"over the limit of {budget / 1e6:,.0f} MB (REALORAI_MAX_DECODED_MB)",
            "unsupported",
        )
    return img


def _check_container(path: Source, fp, max_pixels: int) -> None:
    """Refuse, before Pillow opens it, a file whose opening would decode pixels (an ICO/CUR entry:
    ``realorai.containers``) too large for the limits."""
    if isinstance(fp, Path):
        try:
            with open(fp, "rb") as f:
                if containers.is_ico(f.read(4)):
                    why = containers.check_ico(f, max_pixels, limits.current().max_decoded_bytes)
                else:
                    return
        except OSError as e:
            raise ImageLoadError(path, f"cannot read file: {e.strerror or e}") from e
    else:
        if not containers.is_ico(fp.getvalue()[:4]):
            return
        why = containers.check_ico(fp, max_pixels, limits.current().max_decoded_bytes)
    if why:
        raise ImageLoadError(path, why, "corrupt" if why.startswith("malformed") else "unsupported")


def decode_cost(img: Image.Image) -> int:
    """Estimated peak bytes of decoding this opened image (``limits.decoded_bytes``)."""
    alpha = "transparency" in img.info
    icc = bool(img.info.get("icc_profile"))
    return limits.decoded_bytes(img.mode, img.width, img.height, alpha, icc, img.format or "", _rotated(img))


def _rotated(img: Image.Image) -> bool:
    """Whether decoding will turn the image (an EXIF orientation other than 1): a second copy.

    Read from the header only. Pillow's ``getexif`` decodes a whole PNG to find an eXIf chunk
    after the pixel data (416 MB for a 100-MP PNG, before any budget is held), so for a PNG
    whose header holds no EXIF the chunks are walked instead, and one that has a late eXIf
    chunk is counted as turned (its orientation is known only after decoding)."""
    if img.format == "PNG" and "exif" not in img.info:
        return _png_late_exif(img)
    try:
        return img.getexif().get(0x0112, 1) not in (1, None)
    except Exception:
        return False


MAX_PNG_CHUNKS = 1_000_000  # a PNG of more chunks than this is counted as turned, not walked to its end


def _png_late_exif(img: Image.Image) -> bool:
    """Whether a PNG has an eXIf chunk (by walking chunk headers: 12 bytes read per chunk)."""
    fp = getattr(img, "fp", None)
    if fp is None:
        return True
    where = fp.tell()
    try:
        fp.seek(8)
        for _ in range(MAX_PNG_CHUNKS):
            head = fp.read(8)
            if len(head) < 8:
                return False
            length, kind = int.from_bytes(head[:4], "big"), head[4:]
            if kind == b"eXIf":
                return True
            if kind == b"IEND":
                return False
            fp.seek(length + 4, os.SEEK_CUR)  # the data and its CRC
        return True
    except (OSError, ValueError):
        return True
    finally:
        fp.seek(where)


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
    if icc:
        converted = to_srgb(img, icc)
        if converted is not None:
            return converted
    return to_rgb(img)


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
