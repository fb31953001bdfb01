"""What the user named -> image files: files, folders (recursively) and glob patterns."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

from realorai.imaging import IMAGE_EXTENSIONS, walk_files

NOT_FOUND = "no such file, folder or matching pattern"


@dataclass
class Found:
    """``files`` to score in order; ``missing`` {input: reason} for inputs that gave no image (a
    missing path, an empty folder, a pattern matching only folders); ``skipped`` files found in
    folders that do not carry an image extension (counted, listed with --verbose)."""

    files: list[str] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


HEATMAP_SUFFIX = ".heatmap.png"  # what ``--heatmaps DIR`` writes: never scanned as an input


def own_outputs(heatmaps=None, parts=None) -> list[tuple[str, str]]:
    """What a run writes, as ``find_inputs`` exclusions: its heatmaps (by suffix, so a heatmaps
    folder may be the scanned folder itself) and a scan's parts folder (everything in it)."""
    out = []
    if heatmaps:
        out.append((str(heatmaps), HEATMAP_SUFFIX))
    if parts:
        out.append((str(parts), ""))
    return out


def _inside(path: str, excluded: list[tuple[str, str]]) -> bool:
    real = os.path.realpath(path)
    return any(
        (real == e or real.startswith(e.rstrip(os.sep) + os.sep)) and real.endswith(suffix) for e, suffix in excluded
    )


def _folder(item: str, excluded: list[str], found: Found) -> None:
    images, others = [], []
    for f in walk_files(item):
        if _inside(str(f), excluded):  # a run's own outputs (heatmaps, chunks) are never inputs
            continue
        (images if f.suffix.lower() in IMAGE_EXTENSIONS else others).append(str(f))
    found.files += images
    found.skipped += others
    if not images:
        what = f"{len(others)} other file{'s' if len(others) != 1 else ''} skipped" if others else "it is empty"
        found.missing[item] = f"no image files in this folder ({what})"


def find_inputs(inputs: list[str] | tuple[str, ...], exclude: list[tuple[str, str]] = ()) -> Found:
    """Files, folders (recursively, image extensions only) and glob patterns -> image files.

    An existing path is taken as itself even when it holds glob characters (``weird[1].jpg``);
    an empty argument names nothing (it is never the current folder). Paths under ``exclude``
    ((folder, name suffix) pairs: ``own_outputs``) are never inputs. Inputs that give nothing come back in
    ``missing`` with the reason rather than stopping the others."""
    excluded = [(os.path.realpath(e), suffix) for e, suffix in exclude]
    found = Found()
    for item in inputs:
        if not isinstance(item, str):
            raise TypeError(f"inputs must be paths (str or os.PathLike), got {type(item).__name__}: {item!r}")
        p = Path(item)
        if not item.strip():
            found.missing[item] = "an empty path names no file"
        elif p.is_dir():
            _folder(item, excluded, found)
        elif p.is_file():
            found.files.append(item)
        elif os.path.lexists(item):
            found.missing[item] = "not a regular file (a broken link, a device or a pipe)"
        else:
            _pattern(item, excluded, found)
    found.files = list(dict.fromkeys(found.files))
    return found


def _pattern(item: str, excluded: list[str], found: Found) -> None:
    if not glob.has_magic(item):
        found.missing[item] = NOT_FOUND
        return
    matches = sorted(glob.glob(item, recursive=True))
    files = [m for m in matches if Path(m).is_file() and not _inside(m, excluded)]
    if files:
        found.files += files
    elif matches:
        found.missing[item] = f"the pattern matches only folders ({len(matches)}); name the folders to scan them"
    else:
        found.missing[item] = NOT_FOUND


def as_input_list(inputs) -> list[str]:
    """One path or many (str, os.PathLike, or a list or tuple of them) as a list of str; anything
    else (bytes, None, a number) is refused by name."""
    items = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    out = []
    for i in items:
        if isinstance(i, (str, os.PathLike)) and not isinstance(i, bytes):
            out.append(os.fspath(i))
        else:
            raise TypeError(f"inputs must be paths (str or os.PathLike), images (bytes, a binary stream, a PIL image, "
                            f"a uint8 array), or a list of them; got {type(i).__name__}")  # fmt: skip
    return out


def expand_inputs(inputs: list[str], exclude: list[tuple[str, str]] = ()) -> tuple[list[str], dict[str, str]]:
    """(image files, {input: reason} for inputs that gave none): ``find_inputs`` without the skip list."""
    found = find_inputs(inputs, exclude)
    return found.files, found.missing


# A PIL image or array is re-encoded losslessly so that it takes the path (and the limits) of a
# file; PNG holds these modes, TIFF the others (CMYK, 32-bit).
PNG_MODES = ("1", "L", "LA", "P", "RGB", "RGBA", "I;16")


def is_in_memory(item) -> bool:
    """bytes, a binary stream (io.BytesIO, an open file), a PIL image or a numpy array."""
    from PIL import Image

    if isinstance(item, (bytes, bytearray, memoryview, Image.Image)) or hasattr(item, "read"):
        return True
    return type(item).__module__ == "numpy" and hasattr(item, "shape")


def in_memory(item, i: int):
    """(an Upload decoded like a file, "") or (None, why it is refused) for an in-memory image."""
    import io

    from PIL import Image

    from realorai import limits
    from realorai.imaging import Upload

    if isinstance(item, (bytes, bytearray, memoryview)):
        return Upload(f"<bytes {i}>", bytes(item)), ""
    if hasattr(item, "read"):
        name = getattr(item, "name", None)
        data = item.read()
        if not isinstance(data, bytes):
            return None, f"a stream must be opened in binary mode (read() gave {type(data).__name__})"
        return Upload(str(name) if isinstance(name, str) and name else f"<stream {i}>", data), ""
    if not isinstance(item, Image.Image):
        img, why = _from_array(item)
        if img is None:
            return None, why
        name = f"<array {i}>"
    else:
        img = item
        name = f"<PIL image {i}{': ' + Path(img.filename).name if getattr(img, 'filename', '') else ''}>"
    cap = limits.current().max_pixels  # checked before a copy is encoded, as a file's header is
    if img.width * img.height > cap:
        return None, f"{img.width * img.height:,} pixels, over the limit of {cap:,}"
    buf = io.BytesIO()
    try:
        if img.mode in PNG_MODES:
            img.save(buf, "PNG", compress_level=1)
        else:
            img.save(buf, "TIFF")
    except (OSError, ValueError) as e:
        return None, f"cannot take a PIL image of mode {img.mode}: {e}"
    return Upload(name, buf.getvalue(), decoded=True), ""


def _from_array(a):
    """A PIL image from a uint8 array (H, W), (H, W, 3) RGB or (H, W, 4) RGBA, else (None, why)."""
    from PIL import Image

    shape = tuple(a.shape)
    ok = len(shape) == 2 or (len(shape) == 3 and shape[2] in (3, 4))
    if str(a.dtype) != "uint8" or not ok or 0 in shape:
        return None, (f"an array image must be uint8 of shape (H, W), (H, W, 3) or (H, W, 4), got {a.dtype} "
                      f"{shape}")  # fmt: skip
    return Image.fromarray(a), ""
