"""Sizes that container formats declare, read from their bytes before Pillow opens them.

Pillow opens most formats from the header alone and decodes later, when asked, after
``imaging.open_image`` has checked the size. An ICO (or CUR) file is the exception: opening it
decodes its largest entry, and an entry may be a PNG of any size, whatever the icon directory
says (a 1.5 MB ICO wrapping a 20000 x 20000 PNG took 1.65 GB inside ``Image.open``). So the
directory and each entry's own header (the PNG's IHDR, the bitmap's info header) are read here
first, and an entry too large for the limits is refused before anything is decoded.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

ICO_MAGIC = (b"\x00\x00\x01\x00", b"\x00\x00\x02\x00")  # icon, cursor
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_ENTRIES = 1024  # directories claiming more are malformed (real icons hold a handful)
# Peak bytes a pixel of an ICO entry costs: the entry decoded (up to 16-bit RGBA), its RGBA
# form, and the white composite (measured 20 B/px for an RGBA PNG; a margin on top).
ICO_BYTES_PER_PIXEL = 24


def is_ico(head: bytes) -> bool:
    return head[:4] in ICO_MAGIC


def ico_entry_sizes(fp: BinaryIO) -> list[tuple[int, int]]:
    """(width, height) of every entry of an ICO/CUR file as the entry's own header declares it
    (PNG IHDR or bitmap info header), not as the directory claims. Raises ValueError when the
    directory or an entry header is malformed."""
    fp.seek(0)
    head = fp.read(6)
    if len(head) < 6 or not is_ico(head):
        raise ValueError("not an ICO or CUR file")
    count = struct.unpack("<H", head[4:6])[0]
    if count == 0 or count > MAX_ENTRIES:
        raise ValueError(f"icon directory claims {count} entries")
    entries = []
    for _ in range(count):
        raw = fp.read(16)
        if len(raw) < 16:
            raise ValueError("icon directory cut short")
        entries.append(struct.unpack("<II", raw[8:16]))  # bytes in the entry, where it starts
    sizes = []
    for _, offset in entries:
        fp.seek(offset)
        data = fp.read(26)
        if data[:8] == PNG_MAGIC:
            if len(data) < 24 or data[12:16] != b"IHDR":
                raise ValueError("an icon entry's PNG has no IHDR header")
            sizes.append(struct.unpack(">II", data[16:24]))
        elif len(data) >= 12:
            width, height = struct.unpack("<ii", data[4:12])
            sizes.append((abs(width), abs(height) // 2))  # the XOR image and its AND mask
        else:
            raise ValueError("an icon entry points past the end of the file")
    return sizes


def check_ico(fp: BinaryIO, max_pixels: int, max_bytes: int) -> str:
    """ "" when every entry fits the limits, else why the file is refused."""
    try:
        sizes = ico_entry_sizes(fp)
    except (ValueError, struct.error) as e:
        return f"malformed icon file: {e}"
    finally:
        fp.seek(0)
    for w, h in sizes:
        if w * h > max_pixels:
            return f"decompression bomb refused: an icon entry is {w}x{h} = {w * h:,} pixels, over {max_pixels:,}"
        if w * h * ICO_BYTES_PER_PIXEL > max_bytes:
            need = w * h * ICO_BYTES_PER_PIXEL / 1e6
            return (
                f"decompression bomb refused: decoding an icon entry of {w}x{h} needs ~{need:,.0f} MB, over the "
                f"limit of {max_bytes / 1e6:,.0f} MB (REALORAI_MAX_DECODED_MB)"
            )
    return ""
