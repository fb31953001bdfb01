"""Scoring with a detector: every crop of every image, logits averaged per image.

Returns, per image, the calibrated P(AI), whether it was upsampled (low confidence), and each
crop's box and P(AI), from which heatmaps are drawn.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from realorai.detector.crops import CropPlan
from realorai.detector.dataset import CropDataset, threaded_loader
from realorai.preprocess import normalize
from realorai.progress import progress_bar


def plan_of(model) -> CropPlan:
    d = model.data_config
    return CropPlan(size=d.input_size, grid=d.crop_grid, min_side=d.input_size)


@torch.no_grad()
def crop_logits(model, crops: torch.Tensor) -> torch.Tensor:
    """uint8 crops (N, 3, S, S) -> calibrated logit of P(AI) per crop, on the CPU, by whichever
    backend ``model`` is: a torch detector, or an ONNX Runtime one (``crop_logits`` method)."""
    if hasattr(model, "crop_logits"):
        return torch.from_numpy(model.crop_logits(crops.numpy()))
    device = next(model.parameters()).device
    x = normalize(crops.to(device), model.data_config)
    return model(x.contiguous(memory_format=torch.channels_last))[:, 1].float().cpu()


@torch.no_grad()
def score_crops(
    model,
    paths: list[str],
    batch_size: int = 16,
    workers: int | None = None,
    show_progress: bool = True,
    transform=None,
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], dict[str, str]]:
    """(P(AI) per path, NaN if unreadable; upsampled flags; per-crop P(AI) arrays; {path: reason})."""
    model.eval()
    plan = plan_of(model)
    if workers is None:
        workers = min(4, os.cpu_count() or 1)
    probs = np.full(len(paths), np.nan)
    upsampled = np.zeros(len(paths), dtype=bool)
    per_crop: list[np.ndarray] = [np.zeros(0)] * len(paths)
    errors: dict[str, str] = {}
    with progress_bar("score", len(paths), show_progress) as advance:
        # Decoding threads, not processes: 1.5-4x faster end to end here (benchmarks/throughput.py).
        for batch in threaded_loader(CropDataset(paths, plan, transform=transform), batch_size, workers):
            if len(batch["crops"]):
                z = crop_logits(model, batch["crops"])
                for n, i in enumerate(batch["index"]):
                    mine = z[batch["owner"] == n]
                    if len(mine):
                        probs[i] = float(torch.sigmoid(mine.mean()))
                        per_crop[i] = torch.sigmoid(mine).numpy()
            for n, i in enumerate(batch["index"]):
                upsampled[i] = batch["upsampled"][n]
                if batch["error"][n]:
                    errors[paths[i]] = batch["error"][n]
            advance(len(batch["index"]))
    return probs, upsampled, per_crop, errors
