"""Scoring with a report model: each image decoded and resized once, P(AI) from the softmax."""

from __future__ import annotations

import numpy as np
import torch

from realorai.baselines.preprocess import load_tensors, normalize
from realorai.imaging import Source
from realorai.progress import progress_bar

CHUNK = 256  # images decoded at a time: bounds memory whatever the number of inputs


@torch.no_grad()
def score_tensors(model, x: torch.Tensor, batch_size: int = 32) -> np.ndarray:
    """P(AI) for uint8 images already preprocessed for ``model``."""
    model.eval()
    device = next(model.parameters()).device
    # The precision the model was trained and thresholded at (bf16 scores differ by ~0.002):
    # a threshold chosen on bf16 validation scores is applied to bf16 scores.
    bf16 = getattr(model, "realorai_precision", "fp32") == "bf16"
    out = []
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
        for xb in x.split(batch_size):
            out.append(model(normalize(xb.to(device), model.data_config)).float().softmax(1)[:, 1].cpu())
    return torch.cat(out).numpy() if out else np.zeros(0)


def score_paths(
    model, paths: list[Source], batch_size: int = 32, show_progress: bool = True
) -> tuple[np.ndarray, dict[str, str]]:
    """P(AI) per path (NaN where the image could not be read) and {path: reason} for those."""
    probs = np.full(len(paths), np.nan)
    errors: dict[str, str] = {}
    label = show_progress if isinstance(show_progress, str) else "score"  # a string names what is scored
    with progress_bar(label, len(paths), bool(show_progress)) as advance:
        for start in range(0, len(paths), CHUNK):
            chunk = paths[start : start + CHUNK]
            x, index, errs = load_tensors(chunk, model.data_config, show_progress=False)
            errors.update(errs)
            if index:
                probs[np.asarray(index) + start] = score_tensors(model, x, batch_size)
            advance(len(chunk))
    return probs, errors
