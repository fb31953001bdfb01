"""Frozen-backbone features of a :class:`CropDataset`, averaged over each item's crops.

The head is linear, so the mean of the crops' features gives exactly the mean of their logits:
scoring from averaged features is the detector's crop aggregation, not an approximation.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader

from realorai.detector.dataset import CropDataset, collate
from realorai.models import normalize
from realorai.progress import progress_bar


def crop_loader(dataset: CropDataset, batch_size: int = 16, workers: int = 2) -> Iterator[dict]:
    """Batches of images (each with all its crops), decoded by ``workers`` processes."""
    return DataLoader(
        dataset,  # a map-style dataset: __len__ and __getitem__
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        collate_fn=collate,
        persistent_workers=False,
        prefetch_factor=4 if workers else None,
    )


@torch.no_grad()
def crop_features(
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
                crops, owner = torch.from_numpy(batch["crops"]), torch.from_numpy(batch["owner"])
                x = normalize(crops.to(device), model.data_config).contiguous(memory_format=torch.channels_last)
                f = model.features(x).float()
                sums = torch.zeros(n, f.shape[1]).index_add_(0, owner, f.cpu())
                counts = torch.bincount(owner, minlength=n).clamp(min=1).unsqueeze(1)
                good = torch.bincount(owner, minlength=n) > 0
                feats[items[good.numpy()]] = (sums / counts)[good].numpy()
            for k, err in enumerate(batch["error"]):
                if err:
                    errors[int(items[k])] = err
            upsampled[items] = batch["upsampled"]
            advance(n)
    return feats, upsampled, errors
