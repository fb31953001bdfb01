"""Scan a folder-per-class dataset into a manifest: one row per file, never a crash.

Columns: path, label, sha256, pdq, width, height, format, mode, bytes, exif, jpeg_quality,
status (ok | corrupt | unsupported | duplicate | unlabeled), reason, dup_group, label_conflict.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from realorai.atomic import write_with
from realorai.bank.pdq import MIN_QUALITY, pdq_hex
from realorai.data.duplicates import NEAR_DUP_MAX_DISTANCE, group_duplicates
from realorai.hashing import sha256_file
from realorai.imaging import IMAGE_EXTENSIONS, ImageLoadError, open_image, opened_and_decoded, walk_files
from realorai.jpeg import jpeg_quality
from realorai.progress import progress_bar
from realorai.provenance import evidence_summary
from realorai.provenance.c2pa_evidence import inspect_c2pa
from realorai.provenance.metadata import inspect_metadata
from realorai.rgb import color_space

# Folder names that name a class, compared case-insensitively. The nearest matching ancestor
# folder of a file gives its label; labels never come from substrings of file names.
DEFAULT_LABEL_MAP: dict[str, str] = {
    "aiartdata": "ai",
    "ai": "ai",
    "fake": "ai",
    "1_fake": "ai",
    "realart": "real",
    "real": "real",
    "0_real": "real",
}

USABLE = ("ok",)
COLUMNS = [
    "path",
    "label",
    "sha256",
    "pdq",
    "width",
    "height",
    "format",
    "mode",
    "color_space",
    "bytes",
    "exif",
    "jpeg_quality",
    "c2pa",
    "generator_metadata",
    "camera_exif",
    "status",
    "reason",
    "dup_group",
    "label_conflict",
    "pair",  # aligned pairs (`data reconstruct`): the id a real image shares with its reconstruction
]
PAIRS_FILE = "pairs.csv"  # written by `realorai data reconstruct`: file (relative to the root), pair
PROVENANCE_COLUMNS = ("c2pa", "generator_metadata", "camera_exif")


def parse_label_map(spec: str | None) -> dict[str, str]:
    """Parse ``"synthetic=ai,photos=real"`` on top of the defaults."""
    mapping = dict(DEFAULT_LABEL_MAP)
    if spec:
        for item in spec.split(","):
            if "=" not in item:
                raise ValueError(f"bad --label-map entry {item!r}: expected FOLDER=LABEL")
            folder, label = (s.strip() for s in item.split("=", 1))
            mapping[folder.lower()] = label
    return mapping


def label_for(path: Path, root: Path, label_map: dict[str, str]) -> str | None:
    """The label of the nearest ancestor folder (below ``root``) named in ``label_map``."""
    for parent in path.relative_to(root).parents:
        name = parent.name.lower()
        if name in label_map:
            return label_map[name]
    return None


def header_fields(img) -> dict:
    """What an opened image's header says about how it is stored (no pixels decoded): the
    manifest's columns, and what the shortcut audit's metadata classifier reads."""
    return {
        "width": img.width,
        "height": img.height,
        "format": img.format or "",
        "mode": img.mode,
        "color_space": color_space(img),
        "exif": bool(img.getexif()),
        "jpeg_quality": jpeg_quality(img),
    }


def probe(path: Path, max_pixels: int | None = None) -> dict:
    """Everything the manifest records about one file. Never raises for a bad file."""
    row: dict = {"path": str(path), "status": "ok", "reason": ""}
    try:
        row["bytes"] = path.stat().st_size
        row["sha256"] = sha256_file(path)
    except OSError as e:
        row.update(status="corrupt", reason=f"cannot read file: {e.strerror or e}")
        return row
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        row.update(
            status="unsupported", reason=f"not an image file type realorai reads ({path.suffix or 'no extension'})"
        )
        return row
    try:
        # Hashing needs only a small image: JPEG decodes at reduced scale (still reading it all).
        # The decode holds its share of the process's decode budget, as every decode does.
        with opened_and_decoded(path, max_pixels, draft=256) as (img, rgb):
            row.update(header_fields(img))
            metadata = inspect_metadata(img)
            # A flat or degenerate (1xN) image's hash carries no information (PDQ says so by its
            # quality): such images would be grouped as "near duplicates" of each other across labels.
            pdq, quality = pdq_hex(rgb) if min(rgb.size) >= 8 else ("", 0)
            row["pdq"] = pdq if quality >= MIN_QUALITY else ""
        if row["format"] in ("JPEG", "MPO"):
            # A JPEG drafted to 256 px reports the draft's size and mode: the file declares its own.
            with open_image(path, max_pixels) as img:
                row.update(width=img.width, height=img.height, mode=img.mode)
        # Provenance the audit can use (the pixel-level watermark check is left to `inspect`).
        summary = evidence_summary(metadata + inspect_c2pa(path))
        row.update({k: summary[k] for k in PROVENANCE_COLUMNS})
    except ImageLoadError as e:
        row.update(status=e.status, reason=e.reason)
    except Exception as e:  # a decoder bug must not stop a scan of 10,000 files
        row.update(status="corrupt", reason=f"unexpected decoder error: {type(e).__name__}: {e}")
    return row


def scan(
    root: str | Path,
    label_map: dict[str, str] | None = None,
    near_threshold: int = NEAR_DUP_MAX_DISTANCE,
    max_pixels: int | None = None,
    workers: int | None = None,
    show_progress: bool = True,
) -> pd.DataFrame:
    """Scan every file under ``root`` (recursively) into a manifest DataFrame."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: not a folder")
    label_map = label_map or DEFAULT_LABEL_MAP
    files = walk_files(root)
    labels = [label_for(path, root, label_map) for path in files]
    return scan_files(files, labels, near_threshold, max_pixels, workers, show_progress, read_pairs(root))


def scan_files(
    files: list[Path],
    labels: list[str | None],
    near_threshold: int = NEAR_DUP_MAX_DISTANCE,
    max_pixels: int | None = None,
    workers: int | None = None,
    show_progress: bool = True,
    pairs: dict[str, str] | None = None,
) -> pd.DataFrame:
    """The manifest of files whose labels are known (None: unlabeled), duplicates grouped."""
    workers = workers or min(8, os.cpu_count() or 1)
    rows = []
    with ThreadPoolExecutor(workers) as pool, progress_bar("scan", len(files), show_progress) as advance:
        for row in pool.map(lambda p: _probe_named(p, max_pixels), files):
            rows.append(row)
            advance()
    for row, label in zip(rows, labels, strict=True):
        row["label"] = label or ""
        if label is None and row["status"] == "ok":
            row.update(
                status="unlabeled", reason="no folder in its path is a known class name; use --label-map FOLDER=LABEL"
            )
    df = pd.DataFrame(rows).reindex(columns=COLUMNS)
    for col in ("exif", *PROVENANCE_COLUMNS):
        df[col] = df[col].astype("boolean").fillna(False).astype(bool)
    for col in ("width", "height", "bytes"):
        df[col] = df[col].astype("Int64")
    df["jpeg_quality"] = df["jpeg_quality"].astype("float64")
    for col in ("sha256", "pdq", "format", "mode", "color_space", "label", "reason"):
        df[col] = df[col].astype(object).fillna("").astype(str)  # an all-empty column is float NaN
    df["pair"] = [(pairs or {}).get(p, "") for p in df["path"]]
    return group_duplicates(df, near_threshold)


def read_pairs(root: Path) -> dict[str, str]:
    """{absolute path: pair id} from the dataset's pairs.csv (none when it has no such file)."""
    table = root / PAIRS_FILE
    if not table.is_file():
        return {}
    try:
        pairs = pd.read_csv(table, dtype=str, keep_default_na=False)
        return {str(root / f): p for f, p in zip(pairs["file"], pairs["pair"], strict=True) if p}
    except (OSError, KeyError, ValueError) as e:
        raise ValueError(f"{table}: not a readable list of pairs (columns file, pair): {e}") from e


def printable_path(path: Path) -> str:
    """The path as text; bytes that are not UTF-8 are shown as \\xNN instead of failing later."""
    raw = os.fsencode(path)
    return raw.decode("utf-8", "backslashreplace")


def _probe_named(path: Path, max_pixels: int | None) -> dict:
    name = printable_path(path)
    if name != str(path):  # a file name that is not valid UTF-8 cannot be stored or shown as is
        return {"path": name, "status": "unsupported", "reason": "file name is not valid UTF-8 (rename the file)"}
    return probe(path, max_pixels)


def save_manifest(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a manifest atomically (.parquet, or .csv by extension)."""
    path = Path(path)
    if path.suffix == ".csv":
        return write_with(path, lambda p: df.to_csv(p, index=False))
    return write_with(path, lambda p: df.to_parquet(p, index=False))


REQUIRED_COLUMNS = ("path", "label", "status", "dup_group", "label_conflict")


def load_manifest(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: manifest not found (create one with `realorai data scan`)")
    try:
        if path.suffix == ".csv":
            df = _typed(pd.read_csv(path, keep_default_na=False, dtype=str), path)
        else:
            df = pd.read_parquet(path)
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: not a readable manifest ({type(e).__name__}: {e})") from e
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: manifest lacks column(s) {', '.join(missing)}; write one with `realorai data scan`")
    return df


BOOL_COLUMNS = ("exif", "c2pa", "generator_metadata", "camera_exif", "label_conflict")
INT_COLUMNS = ("width", "height", "bytes", "dup_group")
_BOOLS = {"true": True, "false": False, "1": True, "0": False}


def _typed(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """A CSV manifest with the same column types as a scanned (or Parquet) one; a cell that is
    not what its column needs is an error naming the column, never a silent guess."""
    for col in BOOL_COLUMNS:
        if col in df.columns:
            values = df[col].str.strip().str.lower()
            bad = ~values.isin(list(_BOOLS))
            if bad.any():
                rows = ", ".join(str(i + 2) for i in df.index[bad][:5])  # +2: header, 1-based
                raise ValueError(f"{path}: column {col!r} needs True/False, got {df[col][bad].iloc[0]!r} (line {rows})")
            df[col] = values.map(_BOOLS).astype(bool)
    for col in INT_COLUMNS:
        if col in df.columns:
            df[col] = pd.to_numeric(df[col].replace("", None), errors="raise").astype("Int64")
    if "jpeg_quality" in df.columns:
        df["jpeg_quality"] = pd.to_numeric(df["jpeg_quality"].replace("", None)).astype("float64")
    return df


def usable(df: pd.DataFrame) -> pd.DataFrame:
    """Rows a model may train or be evaluated on: decodable, labelled, not duplicate, no conflict."""
    return df[df["status"].isin(USABLE) & ~df["label_conflict"].astype(bool)]


def summary(df: pd.DataFrame) -> dict:
    """Counts by status and label, duplicate groups and label conflicts."""
    sizes = df.loc[df["status"].isin(["ok", "duplicate"])].groupby("dup_group").size()
    return {
        "files": int(len(df)),
        "by_status": {k: int(v) for k, v in df["status"].value_counts().sort_index().items()},
        "usable_by_label": {k: int(v) for k, v in usable(df)["label"].value_counts().sort_index().items()},
        "duplicate_groups": int((sizes > 1).sum()),
        "label_conflict_files": int(df["label_conflict"].sum()),
    }
