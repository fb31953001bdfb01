"""Training the report's models: ``fit`` = data -> loaders -> epochs (``train_one_epoch`` +
``evaluate``) -> a threshold on validation -> a self-describing checkpoint.

Full models train on decoded uint8 tensors with on-the-fly augmentation. Models with a frozen
backbone compute backbone features once per image and view (the original plus ``aug_views``
augmented copies when augmenting) and train only the head on those, so an epoch takes seconds.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import torch
import torch.nn as nn

from realorai import CLASSES, distributed
from realorai.atomic import check_resume_settings, folder_lock, write_json, write_text, write_with
from realorai.baselines.config import RESUMABLE_CHANGES, TrainConfig
from realorai.baselines.loaders import Loaders, make_loaders
from realorai.baselines.loop import evaluate, seed_everything, train_one_epoch
from realorai.baselines.preprocess import TensorCache
from realorai.data.manifest import load_manifest
from realorai.data.split import labels_of, usable_split
from realorai.device import pick_device
from realorai.metrics import binary_metrics, validation_threshold
from realorai.models import count_params, create_model, get_spec
from realorai.models.checkpoint import BEST, LAST, load_checkpoint, load_training_state, save_checkpoint, seen_prefixes
from realorai.plots import plot_history
from realorai.progress import progress_bar

STATE = "last_state.pt"  # optimizer state + history, for --resume


def fit(cfg: TrainConfig, out_dir: str | Path, resume: bool = False, show_progress: bool = True, cache=None) -> dict:
    """Train ``cfg.model`` on the manifest's train split, select on val, write RUN_DIR (locked).

    Under ``torchrun`` every process trains its shard and rank 0 alone writes RUN_DIR."""
    rank, world = distributed.setup()
    if rank != 0:
        summary = _fit(cfg, Path(out_dir), resume, False, cache, rank, world)
    else:
        with folder_lock(out_dir):
            summary = _fit(cfg, Path(out_dir), resume, show_progress, cache, rank, world)
    distributed.finish()  # every rank leaves once rank 0 has written the run
    return summary


@dataclass
class Progress:
    """What survives an interruption: the history and the early-stopping bookkeeping."""

    history: list[dict] = field(default_factory=list)
    best_key: tuple[float, float] | None = None
    best_epoch: int = -1
    stale: int = 0
    stopped_early: bool = False


def _fit(cfg, out: Path, resume, show_progress, cache: TensorCache | None, rank: int, world: int) -> dict:
    main = rank == 0  # only rank 0 writes
    if resume and (out / STATE).is_file():
        check_resume_settings(out, asdict(cfg), RESUMABLE_CHANGES)  # before anything in the run folder is rewritten
    if main:
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "config.json", asdict(cfg))
    seed_everything(cfg.seed)
    device = distributed.local_device(pick_device(cfg.device))
    train_df, val_df = _splits(cfg)
    model = create_model(cfg.model, num_classes=len(CLASSES), pretrained=cfg.pretrained).to(device)
    loaders = make_loaders(cfg, model, train_df, val_df, device, cache or TensorCache(), show_progress, rank, world)
    for path, reason in loaders.skipped.items():
        print(f"warning: skipped {path}: {reason}")
    params = [p for p in loaders.trainable.parameters() if p.requires_grad]
    optimizer = _optimizer(cfg, params)
    loss_fn = nn.CrossEntropyLoss(weight=_class_weights(cfg, loaders.y_train, device))
    ddp = distributed.wrap(loaders.trainable, device)  # trainable itself under one process
    progress = Progress()
    if resume and (out / STATE).is_file():
        progress = _restore(out, loaders, optimizer)
    _epochs(cfg, out, model, ddp, loaders, optimizer, loss_fn, device, progress, main, show_progress)
    if not main:  # rank 0 chooses the threshold and writes the checkpoint
        return {"rank": rank, "epochs_run": len(progress.history)}
    return _finish(cfg, out, model, loaders, loss_fn, device, progress, train_df, val_df, world)


def _splits(cfg: TrainConfig):
    df = load_manifest(cfg.manifest)
    train_df, val_df = (usable_split(df, name, cfg.manifest) for name in ("train", "val"))
    if train_df.empty or train_df["label"].nunique() < 2:
        raise ValueError(f"{cfg.manifest}: the train split needs images of both classes")
    labels_of(train_df)  # a clear error for labels that are not real/ai, before any decoding
    return train_df, val_df


def _optimizer(cfg: TrainConfig, params) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r} (adam | sgd)")


def _class_weights(cfg: TrainConfig, y_train: torch.Tensor, device) -> torch.Tensor | None:
    if not cfg.class_weighted:
        return None
    counts = torch.bincount(y_train, minlength=len(CLASSES)).float()
    return (counts.sum() / (len(CLASSES) * counts.clamp(min=1))).to(device)


def _restore(out: Path, loaders: Loaders, optimizer) -> Progress:
    """The state of an interrupted run; refuses anything but plain data."""
    state = load_training_state(out / STATE)
    if state.get("stopped_early"):
        raise ValueError(f"{out}: this run stopped early at epoch {len(state['history'])}; start a new run folder")
    loaders.trainable.load_state_dict(state["trainable"])
    optimizer.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["rng"])
    loaders.gen.set_state(state["gen"])
    if state.get("cuda_rng") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    print(f"resuming {out} after epoch {len(state['history'])}")
    best_key = tuple(state["best_key"]) if state["best_key"] else None
    return Progress(state["history"], best_key, state["best_epoch"], state["stale"])


def _epochs(cfg, out, model, ddp, loaders: Loaders, optimizer, loss_fn, device, progress: Progress, main, show):
    """Epochs from where ``progress`` stands; rank 0 checkpoints after each one."""
    has_val = len(loaders.y_val) > 0
    # The bar counts training images, batch by batch: an epoch of a slow model is minutes long.
    per_epoch = -(-len(loaders.y_train) // distributed.world_size())
    with progress_bar(f"train {cfg.model} ({cfg.epochs} epochs)", cfg.epochs * per_epoch, show) as advance:
        advance(len(progress.history) * per_epoch)
        for epoch in range(len(progress.history), cfg.epochs):
            t0 = time.perf_counter()
            loaders.epoch = epoch
            tr_loss, tr_acc = train_one_epoch(
                ddp, loaders.train(), optimizer, loss_fn, device, cfg.precision, on_batch=advance
            )
            distributed.sync_buffers(loaders.trainable)
            va_loss, va_acc = float("nan"), float("nan")
            if has_val:
                va_loss, va_acc, _ = evaluate(loaders.trainable, loaders.val(), loss_fn, device, cfg.precision)
            progress.history.append(
                {"epoch": epoch + 1, "train_loss": tr_loss, "train_acc": tr_acc, "val_loss": va_loss,
                 "val_acc": va_acc, "seconds": round(time.perf_counter() - t0, 3)}
            )  # fmt: skip
            key = (va_acc, -va_loss) if has_val else (float(epoch), 0.0)
            improved = progress.best_key is None or key > progress.best_key
            if improved:
                progress.best_key, progress.best_epoch, progress.stale = key, epoch + 1, 0
            else:
                progress.stale += 1
            progress.stopped_early = distributed.agree(bool(cfg.patience and progress.stale >= cfg.patience))
            if main:
                _save_epoch(cfg, out, model, loaders, optimizer, progress, improved)
            if progress.stopped_early:
                if main:
                    print(f"early stop: no validation improvement for {progress.stale} epochs")
                break


def _save_epoch(cfg, out: Path, model, loaders: Loaders, optimizer, progress: Progress, improved: bool) -> None:
    epoch = len(progress.history)
    if improved:
        save_checkpoint(out / BEST, model, {"epoch": epoch, "config": asdict(cfg)})
    save_checkpoint(out / LAST, model, {"epoch": epoch, "config": asdict(cfg)})
    write_json(out / "history.json", progress.history)
    write_text(out / "history.csv", _history_csv(progress.history))
    # Written last: a crash before this line resumes from the previous epoch.
    state = {
        "trainable": loaders.trainable.state_dict(),
        "optimizer": optimizer.state_dict(),
        "rng": torch.get_rng_state(),
        "gen": loaders.gen.get_state(),
        "history": progress.history,
        "best_epoch": progress.best_epoch,
        "best_key": progress.best_key,
        "stale": progress.stale,
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "stopped_early": progress.stopped_early,
    }
    write_with(out / STATE, partial(torch.save, state))


def _finish(cfg, out, model, loaders: Loaders, loss_fn, device, progress: Progress, train_df, val_df, world) -> dict:
    """Decision threshold on the validation split of the best epoch (never on test); the final checkpoint."""
    best_model, _ = load_checkpoint(out / BEST, device)
    if len(loaders.y_val):
        best_trainable = best_model.head if get_spec(cfg.model).frozen_backbone else best_model
        _, _, p_val = evaluate(best_trainable, loaders.val(), loss_fn, device, cfg.precision)
        y = loaders.y_val.numpy()
        threshold, source, n_val = validation_threshold(y, p_val)
        if source.startswith("default"):
            print(f"warning: threshold {source}")
        val_metrics = binary_metrics(y, p_val, threshold)
    else:
        threshold, source, val_metrics = 0.5, "default 0.5 (no validation split)", {}
        n_val = {c: 0 for c in CLASSES}
    meta = {
        "epoch": progress.best_epoch,
        "config": asdict(cfg),
        "threshold": threshold,
        "threshold_source": source,
        "n_val": n_val,
        "metrics": {"val": val_metrics},
        "seen_sha256_prefixes": seen_prefixes(train_df, val_df),
        "skipped": loaders.skipped,
        # Under torchrun: how many processes shared the training (each took its own shard).
        "distributed": distributed.describe(),
    }
    save_checkpoint(out / BEST, best_model, meta)
    summary = {
        "model": cfg.model,
        "best_epoch": progress.best_epoch,
        "epochs_run": len(progress.history),
        "threshold": threshold,
        "threshold_source": source,
        "val": val_metrics,
        "skipped": loaders.skipped,
        "train_images": int(len(loaders.y_train)),
        "val_images": int(len(loaders.y_val)),
        "params": count_params(model),
        "train_seconds": round(sum(h["seconds"] for h in progress.history), 2),
        "world_size": world,
    }
    write_json(out / "train_summary.json", summary)
    plot_history(progress.history, out / "curves.png", title=cfg.model)
    return summary


def _history_csv(history: list[dict]) -> str:
    buf = io.StringIO()
    if history:
        w = csv.DictWriter(buf, fieldnames=list(history[0]))
        w.writeheader()
        w.writerows(history)
    return buf.getvalue()


__all__ = ["STATE", "TrainConfig", "fit"]
