"""Training a detector end to end: augmented native-resolution crops streamed from disk through
the network, every (dataset, class) cell weighted equally, the best epoch chosen on validation
ROC-AUC, then temperature and threshold fitted on validation data, and a self-describing
checkpoint. Used by ``fit_detector`` for detectors without a frozen backbone.

Under ``torchrun`` every process trains on its own share of each epoch's draw (DDP averages the
gradients) and rank 0 alone validates and writes. After every epoch rank 0 writes the training
state (``e2e_state.pt``), so an interrupted run continues with ``--resume`` from the last epoch
it finished, and ends where an uninterrupted run would have."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

from realorai import distributed
from realorai.atomic import write_with
from realorai.detector.augment import NEUTRAL_CHAIN
from realorai.detector.crops import CropPlan, plan_of
from realorai.detector.dataset import CropDataset, collate
from realorai.detector.head import balanced_weights, calibrate
from realorai.detector.score import sigmoid
from realorai.device import autocast, pick_device
from realorai.metrics import roc_auc_or_nan
from realorai.models import normalize
from realorai.models.checkpoint import load_training_state
from realorai.progress import progress_bar


def _keys(part: pd.DataFrame) -> list[str]:
    return part["pair"].astype(str).tolist() if "pair" in part.columns else [""] * len(part)


STATE = "e2e_state.pt"  # model, optimizer, schedule, history and best epoch: what --resume continues from
# Settings that may differ when a run is resumed (where it runs, not what it trains).
RESUMABLE_CHANGES = ("device", "workers")


class RawLogit(nn.Module):
    """The network's uncalibrated logit as ``forward``: what DDP wraps (it syncs through forward)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.raw_logit(x)


def epoch_indices(weights: np.ndarray, epoch: int, seed: int, rank: int = 0, world: int = 1) -> list[int]:
    """This process's share of an epoch: ``len(weights)`` draws with replacement by ``weights``,
    the same draw on every rank (seeded by seed and epoch), padded so that each rank takes as many
    steps, dealt round-robin (DistributedSampler's padding and dealing, without its shuffle). With
    one process it is exactly WeightedRandomSampler's draw."""
    from torch.utils.data import DistributedSampler

    g = torch.Generator().manual_seed(seed + epoch)
    idx = torch.multinomial(torch.as_tensor(weights, dtype=torch.double), len(weights), True, generator=g).tolist()
    return [idx[i] for i in DistributedSampler(range(len(idx)), world, rank, shuffle=False)]


def train_epoch(model, train: pd.DataFrame, cfg, epoch: int, device, optimizer, show_progress: bool, net=None):
    """One pass of ``len(train)`` augmented crops drawn with (dataset, class)-balanced weights
    (this rank's share of them under torchrun); (mean loss, optimizer steps). ``net`` is what the
    gradients flow through: ``model`` itself, or its DDP wrapper."""
    net = net or RawLogit(model)
    rank, world = distributed.setup()
    plan = CropPlan(size=cfg.train_crop, grid=1)
    chain = cfg.e2e_augment or NEUTRAL_CHAIN
    ds = CropDataset(train["path"].tolist(), plan, chain, 1, cfg.seed * 1000 + epoch, keys=_keys(train))
    weights = balanced_weights(train["y"].to_numpy(), train["dataset"].to_numpy())
    share = epoch_indices(weights, epoch, cfg.seed, rank, world)
    loader = DataLoader(ds, cfg.batch_size, sampler=share, num_workers=cfg.workers, collate_fn=collate)
    y_all = torch.tensor(train["y"].to_numpy(), dtype=torch.float32)
    model.train()
    losses = []
    with progress_bar(f"epoch {epoch + 1}", len(share), show_progress) as advance:
        for batch in loader:
            x, y, scale = _batch_tensors(batch, y_all, model, cfg, device, world)
            if x is not None:
                with autocast(device, cfg.precision):
                    z = net(x.contiguous(memory_format=torch.channels_last)).float()
                loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y) * scale
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                if scale:
                    losses.append(loss.item())
            advance(len(batch["index"]))
    return (float(np.mean(losses)) if losses else float("nan")), len(losses)


def _batch_tensors(batch, y_all, model, cfg, device, world: int):
    """(crops, labels, loss scale). Under DDP every rank must step on every batch (the gradient
    all-reduce would hang otherwise): a batch left without crops steps on two blank crops at zero
    weight. In one process such a batch, or one of a single crop, is skipped (BatchNorm)."""
    n = len(batch["crops"])
    if n > 1 or (n == 1 and world > 1):
        x = normalize(torch.from_numpy(batch["crops"]).to(device), model.data_config)
        y = y_all[torch.as_tensor(batch["index"])][torch.from_numpy(batch["owner"])].to(device)
        return x, y, 1.0
    if world == 1:
        return None, None, 0.0
    return torch.zeros(2, 3, cfg.train_crop, cfg.train_crop, device=device), torch.zeros(2, device=device), 0.0


@torch.no_grad()
def crop_logits_of(model, paths: list[str], cfg, device, show_progress: bool, desc: str) -> np.ndarray:
    """Uncalibrated logit per image: the mean over its crops of the crop plan (NaN if unreadable)."""
    model.eval()
    out = np.full(len(paths), np.nan)
    loader = DataLoader(CropDataset(paths, plan_of(model)), 16, num_workers=cfg.workers, collate_fn=collate)
    with progress_bar(desc, len(paths), show_progress) as advance:
        for batch in loader:
            if len(batch["crops"]):
                x = normalize(torch.from_numpy(batch["crops"]).to(device), model.data_config)
                with autocast(device, cfg.precision):
                    z = model.raw_logit(x.contiguous(memory_format=torch.channels_last)).float().cpu().numpy()
                for n, i in enumerate(batch["index"]):
                    mine = z[batch["owner"] == n]
                    if len(mine):
                        out[i] = float(mine.mean())
            advance(len(batch["index"]))
    return out


@dataclass
class Progress:
    """What survives an interruption besides the model and optimizer: history and the best epoch."""

    history: list[dict] = field(default_factory=list)
    best_auc: float | None = None
    best_state: dict | None = None  # the best epoch's weights
    best_z: np.ndarray | None = None  # and its validation logits, which calibration reads


def fit_end_to_end(
    model, cfg, train: pd.DataFrame, val: pd.DataFrame, show_progress: bool, log, out: Path | None = None,
    resume: bool = False,
) -> tuple[dict, dict]:  # fmt: skip
    """Train ``model`` (epochs chosen on validation ROC-AUC), then calibrate it; (meta, validation
    metrics) on rank 0, ``({}, {})`` on the other ranks. ``out``: where the state of each epoch
    goes (rank 0), and what ``resume`` continues from."""
    rank, world = distributed.setup()
    device = distributed.local_device(pick_device(cfg.device))
    model = model.to(device).to(memory_format=torch.channels_last)
    net = distributed.wrap(RawLogit(model), device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(1, cfg.epochs))
    progress = Progress()
    if resume and out is not None and (out / STATE).is_file():
        progress = _restore(out / STATE, model, optimizer, schedule, device)
        log(f"resuming {out} after epoch {len(progress.history)}")
    y_val = val["y"].to_numpy()
    for epoch in range(len(progress.history), cfg.epochs):
        t0 = time.perf_counter()
        loss, steps = train_epoch(model, train, cfg, epoch, device, optimizer, show_progress and rank == 0, net)
        schedule.step()
        if rank != 0:  # rank 0's weights and BatchNorm statistics are the run's (DDP broadcasts them)
            continue
        z_val = crop_logits_of(model, val["path"].tolist(), cfg, device, show_progress, "validation")
        auc = roc_auc_or_nan(y_val, z_val)
        seconds = round(time.perf_counter() - t0, 1)
        progress.history.append({"epoch": epoch + 1, "loss": loss, "val_auc": auc, "steps": steps, "seconds": seconds})
        log(f"epoch {epoch + 1}/{cfg.epochs}: loss {loss:.4f}, validation ROC-AUC {auc:.4f}")
        if progress.best_auc is None or (np.isfinite(auc) and not auc <= progress.best_auc):
            progress.best_auc, progress.best_z = auc, z_val
            progress.best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        if out is not None:
            _save_state(out / STATE, model, optimizer, schedule, progress)
    if rank != 0:
        model.cpu()
        return {}, {}
    model.load_state_dict(progress.best_state)
    calibration, val_metrics = calibrate(progress.best_z, y_val, cfg.min_val_per_class, log)
    model.temperature.fill_(calibration["temperature"])
    model.cpu()
    history = progress.history
    finite = np.isfinite(progress.best_z).any()
    best_epoch = int(np.nanargmax([h["val_auc"] for h in history]) + 1) if finite else len(history)
    meta = {"config": cfg.to_dict(), **calibration, "history": history, "best_epoch": best_epoch}
    if world > 1:
        meta["distributed"] = distributed.describe()
    return meta, val_metrics


def _save_state(path: Path, model, optimizer, schedule, progress: Progress) -> None:
    state = {
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer": optimizer.state_dict(),
        "schedule": schedule.state_dict(),
        "rng": torch.get_rng_state(),
        "history": progress.history,
        "best_auc": progress.best_auc,
        "best_state": progress.best_state,
        "best_z": torch.from_numpy(np.asarray(progress.best_z, dtype=np.float64)),
    }
    write_with(path, partial(torch.save, state))  # atomic: a crash mid-write keeps the previous epoch's


def _restore(path: Path, model, optimizer, schedule, device) -> Progress:
    state = load_training_state(path)
    model.load_state_dict(state["model"])
    model.to(device)
    optimizer.load_state_dict(state["optimizer"])
    schedule.load_state_dict(state["schedule"])
    torch.set_rng_state(state["rng"])
    return Progress(state["history"], state["best_auc"], state["best_state"], state["best_z"].numpy())


def test_scores(model, cfg, test: pd.DataFrame, show_progress: bool) -> np.ndarray:
    """Calibrated P(AI) of the test split (reported, never used to choose anything)."""
    z = crop_logits_of(model, test["path"].tolist(), cfg, torch.device("cpu"), show_progress, "test")
    return sigmoid(z / float(model.temperature))
