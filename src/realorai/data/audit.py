"""Shortcut audit: can file metadata alone tell the classes apart?

If a classifier that never sees pixels separates AI from real images, a pixel detector can
learn the same shortcut (size, format, compression) and fail on data without it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, cross_val_score
from sklearn.tree import DecisionTreeClassifier

from realorai.data.manifest import PROVENANCE_COLUMNS, usable

# Warn when metadata alone reaches this cross-validated accuracy (and clearly beats always
# guessing the larger class): at that point the dataset rewards shortcuts.
SHORTCUT_WARN_ACCURACY = 0.75


def metadata_features(df: pd.DataFrame) -> pd.DataFrame:
    """Numeric features a trivial classifier may use: no pixels, only how the file is stored."""
    w = df["width"].astype(float)
    h = df["height"].astype(float)
    feats = pd.DataFrame(
        {
            "width": w,
            "height": h,
            "aspect_ratio": w / h,
            "megapixels": w * h / 1e6,
            "log10_bytes": np.log10(df["bytes"].astype(float).clip(lower=1)),
            "bytes_per_pixel": df["bytes"].astype(float) / (w * h),
            "jpeg_quality": df["jpeg_quality"].fillna(-1.0).astype(float),
            "exif": df["exif"].astype(float),
        },
        index=df.index,
    )
    # Provenance found by the scan (C2PA, generator metadata, camera EXIF): if these alone predict
    # the label, the dataset leaks its answer through metadata.
    for col in PROVENANCE_COLUMNS:
        if col in df.columns:
            feats[col] = df[col].astype(float)
    for col in ("format", "mode", "color_space"):
        if col not in df.columns:
            continue
        for value in sorted(df[col].unique()):
            feats[f"{col}={value}"] = (df[col] == value).astype(float)
    return feats


def _describe(s: pd.Series) -> dict:
    s = s.dropna().astype(float)
    if s.empty:
        return {}
    q = s.quantile([0.0, 0.5, 1.0])
    return {"min": float(q[0.0]), "median": float(q[0.5]), "max": float(q[1.0]), "unique": int(s.nunique())}


def _cv_accuracy(x: np.ndarray, y: np.ndarray, groups: np.ndarray, seed: int) -> float:
    n_splits = int(min(5, np.bincount(y).min()))
    if n_splits < 2:
        return float("nan")
    cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    clf = DecisionTreeClassifier(max_depth=3, random_state=seed)
    return float(cross_val_score(clf, x, y, cv=cv, groups=groups, scoring="accuracy").mean())


def audit(df: pd.DataFrame, seed: int = 0) -> dict:
    """Per-class metadata distributions and the accuracy of a metadata-only classifier."""
    data = usable(df)
    per_class = {}
    for label, g in data.groupby("label"):
        per_class[label] = {
            "images": int(len(g)),
            "format": {k: int(v) for k, v in g["format"].value_counts().items()},
            "color_space": {
                (k or "none"): int(v) for k, v in g.get("color_space", pd.Series(dtype=str)).value_counts().items()
            },
            "mode": {k: int(v) for k, v in g["mode"].value_counts().items()},
            "width": _describe(g["width"]),
            "height": _describe(g["height"]),
            "aspect_ratio": _describe(g["width"].astype(float) / g["height"].astype(float)),
            "jpeg_quality": _describe(g["jpeg_quality"]),
            "exif_fraction": float(g["exif"].mean()),
            **{f"{c}_fraction": float(g[c].mean()) for c in PROVENANCE_COLUMNS if c in g.columns},
            "distinct_sizes": int(g[["width", "height"]].drop_duplicates().shape[0]),
        }
    result: dict = {"per_class": per_class, "threshold": SHORTCUT_WARN_ACCURACY, "warnings": []}
    labels = sorted(data["label"].unique())
    if len(labels) < 2:
        result["warnings"].append("fewer than two classes among usable images: nothing to audit")
        return result
    y = data["label"].map({k: i for i, k in enumerate(labels)}).to_numpy()
    groups = data["dup_group"].to_numpy()
    feats = metadata_features(data)
    baseline = float(np.bincount(y).max() / len(y))
    acc = _cv_accuracy(feats.to_numpy(), y, groups, seed)
    single = {c: _cv_accuracy(feats[[c]].to_numpy(), y, groups, seed) for c in feats.columns}
    best = max(single, key=lambda c: -1 if np.isnan(single[c]) else single[c])
    result.update(
        majority_baseline=baseline,
        metadata_classifier={
            "model": "DecisionTree(max_depth=3)",
            "cv": "StratifiedGroupKFold by dup_group",
            "accuracy": acc,
            "features": list(feats.columns),
        },
        single_feature_accuracy=dict(sorted(single.items(), key=lambda kv: -np.nan_to_num(kv[1]))),
        best_single_feature={"feature": best, "accuracy": single[best]},
    )
    if acc >= SHORTCUT_WARN_ACCURACY and acc > baseline + 0.1:
        result["warnings"].append(
            f"SHORTCUT: a classifier that sees only file metadata reaches {acc:.0%} accuracy "
            f"(majority baseline {baseline:.0%}); '{best}' alone reaches {single[best]:.0%}. "
            "A pixel detector can learn this shortcut instead of generation traces; "
            "do not trust test accuracy on this dataset alone."
        )
    return result
