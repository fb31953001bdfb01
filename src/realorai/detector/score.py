"""Scoring with a detector: every crop of every image, logits averaged per image.

Returns, per image, the calibrated P(AI), whether it was upsampled (low confidence), and each
crop's P(AI), from which heatmaps are drawn. The model is a torch detector or an ONNX Runtime
one (``crop_logits`` method); only the torch one needs torch.
"""

from __future__ import annotations

import os

import numpy as np

from realorai.detector.crops import plan_of
from realorai.detector.dataset import CropDataset, threaded_loader
from realorai.imaging import Source
from realorai.progress import progress_bar


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=np.float64)))


# Crops per run of the network. Its activations are ~16 MB a crop: 64 crops at once peaked at
# 1 GB, 4 at 65 MB; and on 2 CPU cores ONNX Runtime ran 4-crop runs faster than 64-crop ones
# (38.7 against 28.1 images/s: they stay in cache).
CROPS_PER_RUN = 4


def _in_runs(run, crops: np.ndarray) -> np.ndarray:
    """``run`` over at most CROPS_PER_RUN crops at a time, the results concatenated."""
    if len(crops) <= CROPS_PER_RUN:
        return run(crops)
    return np.concatenate([run(crops[i : i + CROPS_PER_RUN]) for i in range(0, len(crops), CROPS_PER_RUN)])


def _torch_input(model, crops: np.ndarray):
    import torch

    from realorai.models import normalize

    device = next(model.parameters()).device
    return normalize(torch.from_numpy(crops).to(device), model.data_config).contiguous(
        memory_format=torch.channels_last
    )


def crop_logits(model, crops: np.ndarray) -> np.ndarray:
    """uint8 crops (N, 3, S, S) -> calibrated logit of P(AI) per crop (float32, on the CPU)."""

    def run(part: np.ndarray) -> np.ndarray:
        if hasattr(model, "crop_logits"):
            return np.asarray(model.crop_logits(part), dtype=np.float32)
        import torch

        with torch.no_grad():
            return model(_torch_input(model, part))[:, 1].float().cpu().numpy()

    return _in_runs(run, crops)


def features_of_crops(model, crops: np.ndarray) -> np.ndarray:
    """uint8 crops (N, 3, S, S) -> a frozen design's raw features per crop (float64)."""
    if not hasattr(model, "crop_features") and not (hasattr(model, "features") and hasattr(model, "num_features")):
        raise ValueError(f"{type(model).__name__}: not a frozen design; heads are adapted on frozen features only")

    def run(part: np.ndarray) -> np.ndarray:
        if hasattr(model, "crop_features"):
            return np.asarray(model.crop_features(part), dtype=np.float64)
        import torch

        with torch.no_grad():
            return model.features(_torch_input(model, part)).double().cpu().numpy()

    return _in_runs(run, crops)


def image_features(
    model, paths: list[Source], views: int = 0, aug=None, seed: int = 0, show_progress: bool = False, transform=None
) -> tuple[np.ndarray, np.ndarray, dict[Source, str]]:
    """(features of each image's clean crops, averaged: (n, F); ``views`` augmented one-crop
    views of each image: (views * n, F), view ``v`` of image ``i`` at row ``v * n + i``;
    {path: reason} for images that could not be read, whose rows are NaN). ``transform`` changes
    each decoded image first (a benchmark's identical re-processing of both classes)."""
    plan = plan_of(model)
    out = []
    errors: dict[Source, str] = {}
    for aug_cfg, n_views, desc in ((None, 1, "features"), (aug, views, "features (augmented views)")):
        if n_views == 0:
            out.append(np.zeros((0, 0)))
            continue
        dataset = CropDataset(paths, plan, aug_cfg, n_views, seed, transform=transform)
        feats: np.ndarray | None = None
        done = 0  # items come in order: item j is view j // n of image j % n
        with progress_bar(desc, len(dataset), show_progress) as advance:
            for batch in threaded_loader(dataset, 8, min(4, os.cpu_count() or 1)):
                f = features_of_crops(model, batch["crops"]) if len(batch["crops"]) else np.zeros((0, 0))
                if feats is None and f.size:
                    feats = np.full((len(dataset), f.shape[1]), np.nan)
                for n, i in enumerate(batch["index"]):
                    mine = f[batch["owner"] == n] if f.size else f
                    if len(mine) and feats is not None:
                        feats[done + n] = mine.mean(0)
                    if batch["error"][n]:
                        errors[paths[i]] = batch["error"][n]
                done += len(batch["index"])
                advance(len(batch["index"]))
        out.append(feats if feats is not None else np.full((len(dataset), 0), np.nan))
    return out[0], out[1], errors


def score_crops(
    model,
    paths: list[Source],
    batch_size: int = 16,
    workers: int | None = None,
    show_progress: bool = True,
    transform=None,
    inspect=None,
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], dict[Source, str], list[dict | None]]:
    """(P(AI) per path, NaN if unreadable; upsampled flags; per-crop P(AI) arrays; {path: reason};
    what ``inspect`` returned per path, from the same decode (``CropDataset``), None without)."""
    model.eval()
    plan = plan_of(model)
    if workers is None:
        workers = min(4, os.cpu_count() or 1)
    probs = np.full(len(paths), np.nan)
    upsampled = np.zeros(len(paths), dtype=bool)
    per_crop: list[np.ndarray] = [np.zeros(0)] * len(paths)
    errors: dict[Source, str] = {}
    extras: list[dict | None] = [None] * len(paths)
    dataset = CropDataset(paths, plan, transform=transform, inspect=inspect)
    label = show_progress if isinstance(show_progress, str) else "score"  # a string names what is scored
    with progress_bar(label, len(paths), bool(show_progress)) as advance:
        # Decoding threads, not processes: 1.5-4x faster end to end here (benchmarks/throughput.py).
        for batch in threaded_loader(dataset, batch_size, workers):
            if len(batch["crops"]):
                z = crop_logits(model, batch["crops"])
                for n, i in enumerate(batch["index"]):
                    mine = z[batch["owner"] == n]
                    if len(mine):
                        probs[i] = float(sigmoid(mine.astype(np.float64).mean()))
                        per_crop[i] = sigmoid(mine)
            for n, i in enumerate(batch["index"]):
                upsampled[i] = batch["upsampled"][n]
                extras[i] = batch["extra"][n]
                if batch["error"][n]:
                    errors[paths[i]] = batch["error"][n]
            advance(len(batch["index"]))
    return probs, upsampled, per_crop, errors, extras
