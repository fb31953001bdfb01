"""Is a detector's score more than a shortcut? Two checks beside each dataset's ROC-AUC.

* The ROC-AUC of a **metadata-only classifier** (the shortcut audit's depth-3 tree on size,
  format, JPEG quality, bytes per pixel, EXIF; no pixels), cross-validated within the dataset:
  where it is near 1, the dataset can be "solved" without looking at the image, and a detector
  trained on such data may have learned exactly that.
* The detector's ROC-AUC **within each JPEG-quality band**, where both classes have images in
  it: a detector that reads compression instead of generation traces falls to chance inside a
  band.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from realorai.data.manifest import header_fields
from realorai.imaging import ImageLoadError, open_image

# JPEG-quality bands (IJG estimate); "not JPEG" for every other format.
BANDS = ((0, 70, "q < 70"), (70, 85, "q 70-84"), (85, 95, "q 85-94"), (95, 101, "q >= 95"))
MIN_PER_CLASS = 5  # a band needs this many images of each class for its ROC-AUC


def file_metadata(paths: list[str]) -> pd.DataFrame:
    """What the audit's metadata classifier sees, read from each header (no pixels decoded)."""
    import os

    rows = []
    for p in paths:
        row = {"width": np.nan, "height": np.nan, "format": "", "mode": "", "color_space": "", "exif": False,
               "jpeg_quality": np.nan}  # fmt: skip
        try:
            with open_image(p) as img:
                row.update(header_fields(img))
        except ImageLoadError:
            pass
        row["bytes"] = os.path.getsize(p) if os.path.exists(p) else 0
        rows.append(row)
    return pd.DataFrame(rows)


def metadata_auc(meta: pd.DataFrame, y: np.ndarray, seed: int = 0) -> float:
    """Cross-validated ROC-AUC of the audit's metadata-only classifier (NaN when too few images)."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.tree import DecisionTreeClassifier

    from realorai.data.audit import metadata_features

    ok = meta["width"].notna().to_numpy()
    y = np.asarray(y)[ok]
    n_splits = int(min(5, np.bincount(y, minlength=2).min()))
    if n_splits < 2:
        return float("nan")
    x = metadata_features(meta[ok].reset_index(drop=True)).to_numpy(dtype=float)
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    clf = DecisionTreeClassifier(max_depth=3, random_state=seed)
    p = cross_val_predict(clf, np.nan_to_num(x, nan=-1.0), y, cv=cv, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, p))


def band_of(quality: float | None, fmt: str) -> str:
    if fmt not in ("JPEG", "MPO") or quality is None or not np.isfinite(quality):
        return "not JPEG"
    return next(name for lo, hi, name in BANDS if lo <= quality < hi)


def jpeg_band_auc(meta: pd.DataFrame, y: np.ndarray, p: np.ndarray) -> dict[str, dict]:
    """{band: {"n", "n_ai", "n_real", "roc_auc"}} for each band holding images (ROC-AUC only where
    both classes have MIN_PER_CLASS images)."""
    from sklearn.metrics import roc_auc_score

    bands = np.array([band_of(q, f) for q, f in zip(meta["jpeg_quality"], meta["format"], strict=True)])
    y, p = np.asarray(y), np.asarray(p, dtype=float)
    out = {}
    for name in [b[2] for b in BANDS] + ["not JPEG"]:
        sel = (bands == name) & np.isfinite(p)
        if not sel.any():
            continue
        n_ai, n_real = int(y[sel].sum()), int((1 - y[sel]).sum())
        auc = float(roc_auc_score(y[sel], p[sel])) if min(n_ai, n_real) >= MIN_PER_CLASS else None
        out[name] = {"n": int(sel.sum()), "n_ai": n_ai, "n_real": n_real, "roc_auc": auc}
    return out
