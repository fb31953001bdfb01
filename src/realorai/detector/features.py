"""Frozen-backbone features of a :class:`CropDataset`, averaged over each item's crops.

The head is linear, so the mean of the crops' features gives exactly the mean of their logits:
scoring from averaged features is the detector's crop aggregation, not an approximation.
"""

from __future__ import annotations

import numpy as np
import torch

from realorai.detector.dataset import CropDataset, crop_loader
from realorai.preprocess import normalize
from realorai.progress import progress_bar


@torch.no_grad()
def extract_features(
    model,
    dataset: CropDataset,
    batch_size: int = 16,
    workers: int = 2,
    show_progress: bool = True,
    desc: str = "features",
) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
    """(features (len(dataset), F) with NaN rows for unreadable items, upsampled flags, {item: reason})."""
    model.eval()
    device = next(model.parameters()).device
    feats = np.full((len(dataset), model.num_features), np.nan, dtype=np.float32)
    upsampled = np.zeros(len(dataset), dtype=bool)
    errors: dict[int, str] = {}
    done = 0
    with progress_bar(desc, len(dataset), show_progress) as advance:
        for batch in crop_loader(dataset, batch_size, workers):
            n = len(batch["index"])
            items = np.arange(done, done + n)
            done += n
            if len(batch["crops"]):
                x = normalize(batch["crops"].to(device), model.data_config).contiguous(
                    memory_format=torch.channels_last
                )
                f = model.features(x).float()
                sums = torch.zeros(n, f.shape[1]).index_add_(0, batch["owner"], f.cpu())
                counts = torch.bincount(batch["owner"], minlength=n).clamp(min=1).unsqueeze(1)
                good = torch.bincount(batch["owner"], minlength=n) > 0
                feats[items[good.numpy()]] = (sums / counts)[good].numpy()
            for k, err in enumerate(batch["error"]):
                if err:
                    errors[int(items[k])] = err
            upsampled[items] = batch["upsampled"]
            advance(n)
    return feats, upsampled, errors
