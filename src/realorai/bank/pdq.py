"""PDQ hashes of images, by one fixed route for the bank and for every query.

PDQ (Meta's perceptual hash, 256 bits, with a quality score 0-100) is computed on a thumbnail:
the file decoded the project's way (EXIF orientation, ICC to sRGB, alpha on white), a JPEG drafted
to at least 512 px (decoding a 12-MP photo at 1/4 scale is ~4x cheaper), then fitted into 512 x
512. The full-resolution route gives hashes ~18 bits away from this one, so bank and query must
take the same route: its name and version are stored with every banked hash (``ROUTE``).

``dihedral`` hashes are the picture's 8 rotations and flips, computed by PDQ at the cost of one:
a query compares each with the bank, so a mirrored copy still matches.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from realorai.imaging import Source, opened_and_decoded

ROUTE = "draft512-thumb512-pdq/1"
SIDE = 512
BITS = 256
MIN_QUALITY = 50  # PDQ's own advice: hashes of lower quality (flat, featureless images) match anything
THUMB = 128  # px, the banked entry's stored thumbnail (for a moderator's side-by-side look)


@dataclass(frozen=True)
class Hashed:
    """An image's PDQ hash (``hashes[0]``, 32 bytes) and its 8 dihedral variants, their quality,
    and a small JPEG thumbnail of the picture."""

    hashes: np.ndarray  # (8, 32) uint8: original first, then PDQ's rotations and flips
    quality: int
    thumbnail: bytes
    # Pictures recovered inside the image (``recover``: a screenshot's or a captioned copy's
    # embedded picture): (box in the decoded image's pixels, its (8, 32) hashes).
    parts: tuple[tuple[tuple[int, int, int, int], np.ndarray], ...] = ()

    @property
    def hex(self) -> str:
        return self.hashes[0].tobytes().hex()


def _pack(bits) -> np.ndarray:
    return np.packbits(np.asarray(bits, dtype=np.uint8))  # 256 bits -> 32 bytes, most significant first


def thumbnail_of(rgb: Image.Image, box: tuple[int, int, int, int] | None = None) -> Image.Image:
    """The picture (or the part of it in ``box``) fitted into SIDE x SIDE (bilinear, fixed: the
    route must not vary). A part is resampled straight from the image (``resize(box=)``), never
    cut out first: a crop of a 100-MP image would be a second copy of up to 360 MB outside the
    decode budget, where this makes only the small picture."""
    left, top, right, bottom = box or (0, 0, *rgb.size)
    w, h = right - left, bottom - top
    if max(w, h) <= SIDE:
        return rgb if box is None else rgb.crop(box)  # at most SIDE x SIDE
    scale = SIDE / max(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return rgb.resize(size, Image.Resampling.BILINEAR, box=box)


def _pdq(thumb: Image.Image) -> tuple[np.ndarray, int]:
    import pdqhash

    hashes, quality = pdqhash.compute_dihedral(np.ascontiguousarray(np.asarray(thumb.convert("RGB"))))
    return np.stack([_pack(h) for h in hashes]), int(quality)


SCAN_SIDE = 128  # px: data scan fits every picture (up or down) into this before hashing


def pdq_hex(rgb: Image.Image) -> tuple[str, int]:
    """(PDQ hash as 64 hex digits, quality) of a decoded picture fitted into 128 px, up or down
    (no variants): ``data scan``'s near-duplicate hash, compared only with others of its scan.
    Fitting small pictures up too keeps a 64-px image and its 60-px copy a few bits apart."""
    w, h = rgb.size
    k = SCAN_SIDE / max(w, h)
    fitted = rgb.resize((max(1, round(w * k)), max(1, round(h * k))), Image.Resampling.BILINEAR)
    hashes, quality = _pdq(fitted)
    return hashes[0].tobytes().hex(), quality


def hash_rgb(rgb: Image.Image, recover: bool = False) -> Hashed:
    """PDQ of an already decoded RGB image (it is fitted into 512 px first); ``recover``: also
    the pictures found inside it (``bank.recover``), for a query."""
    thumb = thumbnail_of(rgb)
    hashes, quality = _pdq(thumb)
    small = thumb.copy()
    small.thumbnail((THUMB, THUMB))
    buf = io.BytesIO()
    small.convert("RGB").save(buf, "JPEG", quality=80)
    parts = []
    if recover:
        from realorai.bank.recover import boxes

        for box in boxes(rgb):
            part, q = _pdq(thumbnail_of(rgb, box))
            if q >= MIN_QUALITY:  # a featureless part would match flat pictures
                parts.append((box, part))
    return Hashed(hashes, quality, buf.getvalue(), tuple(parts))


def hash_image(src: Source, max_pixels: int | None = None, recover: bool = False) -> Hashed:
    """PDQ of a file or upload by the bank's route; raises ``imaging.ImageLoadError`` for a bad one."""
    with opened_and_decoded(src, max_pixels, draft=SIDE) as (_, rgb):
        return hash_rgb(rgb, recover)


CHUNK = 65_536  # banked hashes compared at once by the numpy scan (8 queries x 64 Ki x 32 bytes = 16 MB)


def distances(queries: np.ndarray, bank: np.ndarray) -> np.ndarray:
    """Hamming distances (0-256) between each query hash (q, 32) and each banked one (n, 32)."""
    out = np.zeros((len(queries), len(bank)), dtype=np.int32)
    for start in range(0, len(bank), CHUNK):
        x = np.bitwise_xor(queries[:, None, :], bank[None, start : start + CHUNK, :])
        out[:, start : start + CHUNK] = np.bitwise_count(x).sum(axis=2, dtype=np.int32)
    return out
