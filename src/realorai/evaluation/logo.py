"""Leave one generator out (LOGO) inside a dataset that names its generators (generators.csv).

For each generator: train on the dataset's AI images of the other generators and on all but
one share of its real images, then score the left-out generator's images against the real
images held back. Real images are dealt into as many shares as there are generators (groups of
near duplicates kept together), and a near-duplicate group that touches the test side is left
out of training, so no fold trains on what it is tested on.
"""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd

from realorai.data.manifest import save_manifest, scan, usable
from realorai.data.split import split
from realorai.detector.fit import DetectorConfig, fit_detector
from realorai.inference.detector import Detector
from realorai.metrics import detection_metrics


def generator_of(root: Path, df: pd.DataFrame) -> pd.Series:
    """Each manifest row's generator ("" for real images and AI images not listed)."""
    table = pd.read_csv(root / "generators.csv")
    by_path = {str((root / f).resolve()): str(g) for f, g in zip(table["file"], table["generator"], strict=True)}
    gens = [
        by_path.get(str(Path(p).resolve()), "") if lab == "ai" else ""
        for p, lab in zip(df["path"], df["label"], strict=True)
    ]
    return pd.Series(gens, index=df.index)


def logo_folds(manifest: pd.DataFrame, gens: pd.Series, seed: int = 0) -> list[tuple[str, pd.DataFrame, pd.DataFrame]]:
    """[(generator, training rows, test rows)], one per generator named in ``gens``."""
    data = usable(manifest).assign(generator=gens)
    names = sorted(g for g in data["generator"].unique() if g)
    if len(names) < 2:
        raise ValueError("leave-one-generator-out needs at least two generators in generators.csv")
    group = data["dup_group"].where(data["dup_group"] != "", data["path"]) if "dup_group" in data else data["path"]
    data = data.assign(group=group)
    real_groups = sorted(data.loc[data["label"] == "real", "group"].unique())
    random.Random(seed).shuffle(real_groups)
    share = {g: i % len(names) for i, g in enumerate(real_groups)}
    folds = []
    for i, name in enumerate(names):
        is_real = data["label"] == "real"
        test = data[(data["generator"] == name) | (is_real & (data["group"].map(share) == i))]
        train = data[
            ~data.index.isin(test.index)
            & ~data["group"].isin(set(test["group"]))
            & (is_real | (data["generator"] != ""))
        ]
        folds.append((name, train.drop(columns=["generator", "group"]), test))
    return folds


def leave_one_generator_out(
    dataset: str, out: Path, model: str, views: int, show_progress: bool, log=print, backend: str = "auto"
) -> dict:
    """{generator: metrics on its images against held-back real images}."""
    root = Path(dataset)
    manifest = scan(root, show_progress=show_progress)
    result = {}
    for name, train, test in logo_folds(manifest, generator_of(root, manifest)):
        run = out / "logo" / root.name / name
        train_manifest = save_manifest(split(train, ratios=(0.85, 0.15, 0.0)), run / "train-manifest.parquet")
        log(f"LOGO {root.name}: training without {name} ({len(train)} images), testing on {len(test)}")
        cfg = DetectorConfig(model=model, manifests=(str(train_manifest),), views=views, ratios="85/15/0")
        summary = fit_detector(cfg, run, show_progress, log)
        det = Detector.load(run / "best.safetensors", backend=backend)
        y = (test["label"] == "ai").astype(int).to_numpy()
        p = det.score(test["path"].tolist(), show_progress=show_progress).p_ai
        m = detection_metrics(y, p, det.threshold)
        result[name] = {
            "train_images": summary["train_images"],
            "test_ai": int(y.sum()),
            "test_real": int((1 - y).sum()),
            **{k: v for k, v in m.items() if k != "per_class"},
        }
    return result
