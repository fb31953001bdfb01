"""Aligned pairs: each real image beside its taef2 reconstruction, the same content with and
without a generator's decoder traces (``realorai data reconstruct REAL_DIR... -o DIR``).

The output is a folder-per-class dataset like any other: ``real/NAME.png`` (a native-resolution
centre crop of the real image, at most ``max_side`` a side, sides multiples of 8) and
``ai/NAME.png`` (its reconstruction), both PNG so that neither class carries a format of its
own; and ``pairs.csv`` (file, pair, source, source_dataset), which ``data scan`` reads so that a
pair is one duplicate group (never split apart, never a label conflict). A run that was
interrupted continues: pairs already written are kept.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from realorai.atomic import atomic_path, write_text
from realorai.data.manifest import DEFAULT_LABEL_MAP, PAIRS_FILE, label_for
from realorai.detector.autoencoder import TAEF2, crop_to_multiple
from realorai.hashing import sha256_file
from realorai.imaging import IMAGE_EXTENSIONS, ImageLoadError, load_image, walk_files
from realorai.progress import progress_bar

MIN_SIDE = 64  # smaller images carry too few 8-px latent cells to be worth a pair
CREDIT = (
    "Aligned pairs made by `realorai data reconstruct`: real/ holds native-resolution crops of real "
    "images, ai/ their reconstructions by taef2 (madebyollin/taesd, MIT license: Ollin Boer Bohan), a "
    "tiny autoencoder distilled from FLUX.2's. pairs.csv names each pair and its source image. A tool "
    "for training, never a test set.\n"
)


def real_sources(folders: list[str | Path]) -> list[tuple[Path, str]]:
    """(image, dataset name) for every image under ``folders`` that is not labelled AI."""
    out = []
    for folder in folders:
        root = Path(folder).resolve()
        if not root.is_dir():
            raise FileNotFoundError(f"{root}: not a folder")
        for f in walk_files(root):
            if f.suffix.lower() in IMAGE_EXTENSIONS and label_for(f, root, DEFAULT_LABEL_MAP) != "ai":
                out.append((f, root.name))
    return out


def centre_crop(img: Image.Image, max_side: int) -> Image.Image:
    """At most ``max_side`` a side, at the image's own resolution (never resized), sides multiples of 8."""
    w, h = min(img.width, max_side), min(img.height, max_side)
    left, top = (img.width - w) // 2, (img.height - h) // 2
    return crop_to_multiple(img.crop((left, top, left + w, top + h)))


def _save_png(array: np.ndarray, path: Path) -> None:
    with atomic_path(path) as tmp:
        Image.fromarray(array).save(tmp, format="PNG")


def reconstruct_folders(
    folders: list[str | Path],
    out: str | Path,
    weights: str | Path | None = None,
    max_side: int = 512,
    show_progress: bool = True,
    log=print,
) -> dict:
    """Write aligned pairs for every real image under ``folders`` into ``out``; returns counts and skips."""
    out = Path(out)
    net = TAEF2.load(weights)
    sources = real_sources(folders)
    rows, skipped = [], {}
    with progress_bar("reconstruct", len(sources), show_progress) as advance:
        for path, dataset in sources:
            try:
                pair = sha256_file(path)[:16]
                name = f"{path.stem[:60]}-{pair[:8]}.png"
                real_out, ai_out = out / "real" / name, out / "ai" / name
                if not (real_out.is_file() and ai_out.is_file()):
                    rgb = np.asarray(centre_crop(load_image(path), max_side), dtype=np.uint8)
                    if min(rgb.shape[:2]) < MIN_SIDE:
                        raise ValueError(f"smaller than {MIN_SIDE} px")
                    _save_png(rgb, real_out)
                    _save_png(net.reconstruct(rgb), ai_out)
                rows += [
                    {"file": f"{label}/{name}", "pair": pair, "source": str(path), "source_dataset": dataset}
                    for label in ("real", "ai")
                ]
            except (ImageLoadError, ValueError, OSError) as e:
                skipped[str(path)] = getattr(e, "reason", None) or str(e)
            advance()
    table = pd.DataFrame(rows, columns=["file", "pair", "source", "source_dataset"])
    write_text(out / PAIRS_FILE, table.to_csv(index=False))
    write_text(out / "SOURCE.md", CREDIT)
    for p, reason in skipped.items():
        log(f"skipped {p}: {reason}")
    return {"output": str(out), "pairs": len(rows) // 2, "skipped": skipped}


def pairs_excluding(pairs_root: str | Path, left_out: str, seed: int = 0, ratios=(0.85, 0.15, 0.0)) -> pd.DataFrame:
    """The scanned and split pairs dataset without the pairs made from dataset ``left_out``: in
    a leave-one-dataset-out fold, neither a left-out set nor its reconstructions are trained on."""
    from realorai.data.manifest import scan
    from realorai.data.split import split

    root = Path(pairs_root).resolve()
    table = pd.read_csv(root / PAIRS_FILE, dtype=str, keep_default_na=False)
    made_from = {str(root / f): ds for f, ds in zip(table["file"], table["source_dataset"], strict=True)}
    df = split(scan(root, show_progress=False), seed=seed, ratios=ratios)
    return df[df["path"].map(made_from).fillna("") != left_out].reset_index(drop=True)
