"""Training a detector end to end: augmented native-resolution crops streamed from disk through
the network, every (dataset, class) cell weighted equally, the best epoch chosen on validation
ROC-AUC, then temperature and threshold fitted on validation data, and a self-describing
checkpoint. Used by ``fit_detector`` for detectors without a frozen backbone."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, WeightedRandomSampler

from realorai.detector.augment import NEUTRAL_CHAIN
from realorai.detector.crops import CropPlan, plan_of
from realorai.detector.dataset import CropDataset, collate
from realorai.detector.head import balanced_weights, calibrate
from realorai.detector.score import sigmoid
from realorai.device import autocast, pick_device
from realorai.metrics import roc_auc_or_nan
from realorai.models import normalize
from realorai.progress import progress_bar


def _keys(part: pd.DataFrame) -> list[str]:
    return part["pair"].astype(str).tolist() if "pair" in part.columns else [""] * len(part)


def train_epoch(model, train: pd.DataFrame, cfg, epoch: int, device, optimizer, show_progress: bool) -> float:
    """One pass of ``len(train)`` augmented crops drawn with (dataset, class)-balanced weights."""
    plan = CropPlan(size=cfg.train_crop, grid=1)
    ds = CropDataset(train["path"].tolist(), plan, NEUTRAL_CHAIN, 1, cfg.seed * 1000 + epoch, keys=_keys(train))
    weights = balanced_weights(train["y"].to_numpy(), train["dataset"].to_numpy())
    sampler = WeightedRandomSampler(weights, len(train), generator=torch.Generator().manual_seed(cfg.seed + epoch))
    loader = DataLoader(ds, cfg.batch_size, sampler=sampler, num_workers=cfg.workers, collate_fn=collate)
    y_all = torch.tensor(train["y"].to_numpy(), dtype=torch.float32)
    model.train()
    losses = []
    with progress_bar(f"epoch {epoch + 1}", len(train), show_progress) as advance:
        for batch in loader:
            if len(batch["crops"]) > 1:
                x = normalize(torch.from_numpy(batch["crops"]).to(device), model.data_config)
                y = y_all[torch.as_tensor(batch["index"])][torch.from_numpy(batch["owner"])].to(device)
                with autocast(device, cfg.precision):
                    z = model.raw_logit(x.contiguous(memory_format=torch.channels_last)).float()
                loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
            advance(len(batch["index"]))
    return float(np.mean(losses)) if losses else float("nan")


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


def fit_end_to_end(model, cfg, train: pd.DataFrame, val: pd.DataFrame, show_progress: bool, log) -> tuple[dict, dict]:
    """Train ``model`` (epochs chosen on validation ROC-AUC), then calibrate it; (meta, validation metrics)."""
    device = pick_device(cfg.device)
    model = model.to(device).to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(1, cfg.epochs))
    y_val = val["y"].to_numpy()
    best, history = None, []
    for epoch in range(cfg.epochs):
        t0 = time.perf_counter()
        loss = train_epoch(model, train, cfg, epoch, device, optimizer, show_progress)
        schedule.step()
        z_val = crop_logits_of(model, val["path"].tolist(), cfg, device, show_progress, "validation")
        auc = roc_auc_or_nan(y_val, z_val)
        history.append(
            {"epoch": epoch + 1, "loss": loss, "val_auc": auc, "seconds": round(time.perf_counter() - t0, 1)}
        )
        log(f"epoch {epoch + 1}/{cfg.epochs}: loss {loss:.4f}, validation ROC-AUC {auc:.4f}")
        if best is None or (np.isfinite(auc) and not auc <= best[0]):
            best = (auc, {k: v.detach().clone() for k, v in model.state_dict().items()}, z_val)
    model.load_state_dict(best[1])
    calibration, val_metrics = calibrate(best[2], y_val, cfg.min_val_per_class, log)
    model.temperature.fill_(calibration["temperature"])
    model.cpu()
    finite = np.isfinite(best[2]).any()
    best_epoch = int(np.nanargmax([h["val_auc"] for h in history]) + 1) if finite else len(history)
    return {"config": cfg.to_dict(), **calibration, "history": history, "best_epoch": best_epoch}, val_metrics


def test_scores(model, cfg, test: pd.DataFrame, show_progress: bool) -> np.ndarray:
    """Calibrated P(AI) of the test split (reported, never used to choose anything)."""
    z = crop_logits_of(model, test["path"].tolist(), cfg, torch.device("cpu"), show_progress, "test")
    return sigmoid(z / float(model.temperature))
