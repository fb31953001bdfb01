"""One epoch of training, one pass of evaluation, batches and cached backbone features."""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn as nn

from realorai.baselines.preprocess import augment_batch, normalize
from realorai.device import autocast
from realorai.progress import progress_bar


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def batches(n: int, batch_size: int, shuffle: bool, gen: torch.Generator | None = None) -> Iterator[torch.Tensor]:
    order = torch.randperm(n, generator=gen) if shuffle else torch.arange(n)
    yield from split_batches(order, batch_size, fold_single=shuffle)


def split_batches(order: torch.Tensor, batch_size: int, fold_single: bool) -> list[torch.Tensor]:
    """``order`` in batches; with ``fold_single`` (training) a last batch of one joins the one before."""
    chunks = list(order.split(batch_size))
    if fold_single and len(chunks) > 1 and len(chunks[-1]) == 1:
        # A training batch of one image breaks BatchNorm ("Expected more than 1 value per
        # channel"): fold it into the batch before.
        chunks[-2:] = [torch.cat(chunks[-2:])]
    return chunks


def train_one_epoch(module: nn.Module, loader, optimizer, loss_fn, device, precision: str = "fp32", on_batch=None):
    """One pass over ``loader`` (an iterable of (inputs, labels)); returns mean loss and accuracy.
    ``on_batch(n)`` is told each batch's size (a progress bar inside the epoch)."""
    module.train()
    total, loss_sum, correct = 0, 0.0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad(set_to_none=True)
        with autocast(device, precision):
            logits = module(x)
            loss = loss_fn(logits.float(), y)
        loss.backward()
        optimizer.step()
        loss_sum += loss.item() * len(y)
        correct += int((logits.argmax(1) == y).sum())
        total += len(y)
        if on_batch is not None:
            on_batch(len(y))
    return loss_sum / max(total, 1), correct / max(total, 1)


@torch.no_grad()
def evaluate(module: nn.Module, loader, loss_fn, device, precision: str = "fp32") -> tuple[float, float, np.ndarray]:
    """Mean loss, argmax accuracy and P(AI) over ``loader``."""
    module.eval()
    total, loss_sum, correct, probs = 0, 0.0, 0, []
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        with autocast(device, precision):
            logits = module(x).float()
        loss_sum += float(loss_fn(logits, y)) * len(y)
        correct += int((logits.argmax(1) == y).sum())
        total += len(y)
        probs.append(logits.softmax(1)[:, 1].cpu())
    p = torch.cat(probs).numpy() if probs else np.zeros(0)
    return loss_sum / max(total, 1), correct / max(total, 1), p


@torch.no_grad()
def backbone_features(
    model,
    x: torch.Tensor,
    device,
    batch_size: int = 32,
    augment=None,
    show_progress: bool = True,
    desc: str = "features",
    precision: str = "fp32",
) -> torch.Tensor:
    """Frozen-backbone features for uint8 images ``x`` (augmented first when ``augment`` is given)."""
    model.eval()
    out = []
    with progress_bar(desc, len(x), show_progress) as advance:
        for idx in batches(len(x), batch_size, shuffle=False):
            xb = x[idx]
            if augment is not None:
                xb = augment_batch(xb, augment)
            with autocast(device, precision):
                out.append(model.features(normalize(xb.to(device), model.data_config)).float().cpu())
            advance(len(idx))
    return torch.cat(out) if out else torch.empty(0, model.num_features)
