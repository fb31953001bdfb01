"""Deterministic, stratified train/validation/test split that never splits a duplicate group."""

from __future__ import annotations

import numpy as np
import pandas as pd

from realorai import CLASSES
from realorai.data.manifest import usable

SPLITS = ("train", "val", "test")


def parse_ratios(spec: str) -> tuple[float, float, float]:
    """``"70/10/20"`` or ``"80/0/20"`` -> fractions of train, val, test."""
    parts = [float(p) for p in spec.replace(",", "/").split("/")]
    if len(parts) == 2:
        parts = [parts[0], 0.0, parts[1]]
    if len(parts) != 3 or min(parts) < 0 or sum(parts) <= 0:
        raise ValueError(f"bad split ratios {spec!r}: expected TRAIN/VAL/TEST such as 70/10/20")
    total = sum(parts)
    return parts[0] / total, parts[1] / total, parts[2] / total


def split(df: pd.DataFrame, seed: int = 0, ratios: tuple[float, float, float] = (0.7, 0.1, 0.2)) -> pd.DataFrame:
    """Return a copy with a ``split`` column (train/val/test; empty for unusable rows).

    Groups of exact or near duplicates move together, and so do aligned pairs (a real image and
    its reconstruction: one group holding both classes), wherever the first class dealt put them.
    Within each class, groups are shuffled with ``seed`` and dealt to test, then validation, then
    train until each split holds its share of that class's images.
    """
    out = df.copy()
    out["split"] = ""
    data = usable(out)
    rng = np.random.default_rng(seed)
    _, r_val, r_test = ratios
    assign: dict[int, str] = {}
    for label in sorted(data["label"].unique()):
        rows = data[data["label"] == label]
        sizes = rows.groupby("dup_group").size()
        order = np.array(sizes.index)
        rng.shuffle(order)
        n = int(sizes.sum())
        targets = {"test": round(n * r_test), "val": round(n * r_val)}
        filled = {"test": 0, "val": 0, "train": 0}
        for g in sizes.index[sizes.index.isin(list(assign))]:  # pairs already dealt with the other class
            filled[assign[g]] += int(sizes[g])
        for g in (g for g in order if g not in assign):
            for name in ("test", "val"):
                if filled[name] < targets[name]:
                    assign[g] = name
                    filled[name] += int(sizes[g])
                    break
            else:
                assign[g] = "train"
        out.loc[rows.index, "split"] = rows["dup_group"].map(assign).to_numpy()
    return out


def usable_split(df: pd.DataFrame, name: str, manifest: object = "manifest") -> pd.DataFrame:
    """Usable rows of split ``name`` ("all" for every split); a clear error if never split."""
    if "split" not in df.columns:
        raise ValueError(f"{manifest}: no split column; run `realorai data split {manifest}` first")
    data = usable(df)
    return data if name == "all" else data[data["split"] == name]


def split_counts(df: pd.DataFrame) -> dict:
    used = df[df["split"] != ""]
    return {
        s: {k: int(v) for k, v in used[used["split"] == s]["label"].value_counts().sort_index().items()} for s in SPLITS
    }


def labels_of(df: pd.DataFrame) -> np.ndarray:
    """The label column as y (1 = AI, 0 = real); a clear error for any other label."""
    bad = sorted(set(df["label"]) - set(CLASSES))
    if bad:
        raise ValueError(
            f"labels {bad} are not {list(CLASSES)}: map your class folders with "
            "`realorai data scan --label-map FOLDER=ai,OTHER=real`"
        )
    return (df["label"] == "ai").to_numpy().astype(np.int64)
