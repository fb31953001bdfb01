"""A sample grid per class (the report's Fig. 1), with class counts."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from realorai.atomic import write_with  # noqa: E402
from realorai.data.manifest import usable  # noqa: E402
from realorai.imaging import ImageLoadError, load_image  # noqa: E402


def sample_grid(df: pd.DataFrame, out: str | Path, per_class: int = 8, seed: int = 0) -> Path:
    """Save a PNG with one row of ``per_class`` random thumbnails per class."""
    data = usable(df)
    labels = sorted(data["label"].unique())
    if not labels:
        raise ValueError("manifest has no usable images to show")
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(len(labels), per_class, figsize=(1.8 * per_class, 2.1 * len(labels)), squeeze=False)
    for r, label in enumerate(labels):
        rows = data[data["label"] == label]
        picks = rng.choice(len(rows), size=min(per_class, len(rows)), replace=False)
        for c, ax in enumerate(axes[r]):
            ax.axis("off")
            if c >= len(picks):
                continue
            row = rows.iloc[int(picks[c])]
            try:
                img = load_image(row["path"], draft=256)
                img.thumbnail((256, 256))
                ax.imshow(img)
            except ImageLoadError:
                ax.text(0.5, 0.5, "unreadable", ha="center", va="center")
            ax.set_title(f"{row['width']}x{row['height']}", fontsize=7)
        axes[r][0].text(
            -0.1,
            0.5,
            f"{label}\n(n={len(rows)})",
            transform=axes[r][0].transAxes,
            ha="right",
            va="center",
            fontsize=11,
            fontweight="bold",
        )
    fig.suptitle("Sample images per class (usable images; titles give stored size)")
    fig.tight_layout()
    write_with(out, lambda p: fig.savefig(p, format="png", dpi=100, bbox_inches="tight"))
    plt.close(fig)
    return Path(out)
