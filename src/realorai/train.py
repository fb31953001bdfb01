"""Training: ``resolve_config`` -> ``fit`` (``train_one_epoch`` + ``evaluate`` per epoch).

Full models train on decoded uint8 tensors with on-the-fly augmentation. Models with a frozen
backbone compute backbone features once per image and view (the original plus ``aug_views``
augmented copies when augmenting) and train only the head on those, so an epoch takes seconds.
"""

from __future__ import annotations

import csv
import io
import json
import random
import time
import tomllib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from realorai import CLASSES, distributed
from realorai.atomic import folder_lock, write_json, write_text, write_with
from realorai.checkpoint import BEST, LAST, load_checkpoint, save_checkpoint
from realorai.data.manifest import load_manifest
from realorai.data.split import usable_split
from realorai.metrics import binary_metrics, choose_threshold
from realorai.models import count_params, create_model, get_spec
from realorai.plots import plot_history
from realorai.preprocess import TensorCache, augment_batch, build_augment, normalize
from realorai.progress import progress_bar

STATE = "last_state.pt"  # optimizer state + history, for --resume
# A threshold chosen on fewer validation images of a class than this is noise (2 images once
# chose 0.96): below it the threshold stays 0.5 and the checkpoint says why.
MIN_VAL_PER_CLASS = 10


@dataclass(frozen=True)
class TrainConfig:
    model: str
    manifest: str
    epochs: int = 30
    batch_size: int = 32
    optimizer: str = "adam"  # adam | sgd
    lr: float = 1e-3
    momentum: float = 0.9  # sgd only
    weight_decay: float = 0.0
    augment: bool = True  # flips, rotation, brightness (the report's)
    aug_views: int = 3  # frozen backbones: augmented feature copies cached per image
    class_weighted: bool = False  # weight the loss by inverse class frequency
    pretrained: bool = True
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    patience: int = 0  # stop after this many epochs without validation improvement; 0 = never
    # "bf16" runs forward passes under bfloat16 autocast: ~1.6x faster on CPUs with AMX/AVX512-BF16
    # and on GPUs, at slightly different numerics. Checkpoints stay float32.
    precision: str = "fp32"  # fp32 | bf16


def resolve_config(model: str, manifest: str, config_file: str | Path | None = None, **overrides) -> TrainConfig:
    """Defaults < the model's preset (the report's settings) < a JSON/TOML file < overrides."""
    values: dict = {"model": model, "manifest": str(manifest), **get_spec(model).preset}
    if config_file:
        try:
            text = Path(config_file).read_text()
            values.update(tomllib.loads(text) if str(config_file).endswith(".toml") else json.loads(text))
        except (OSError, ValueError) as e:  # TOMLDecodeError and JSONDecodeError are ValueErrors
            raise ValueError(f"{config_file}: cannot read training options ({e})") from e
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(TrainConfig)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"unknown training option(s): {', '.join(sorted(unknown))}")
    cfg = TrainConfig(**values)
    check_config(cfg, config_file)
    return cfg


def check_config(cfg: TrainConfig, source: object = None) -> None:
    """Types and ranges, with a message naming the option (a TOML file may hold anything)."""
    where = f" (from {source})" if source else ""
    for f in fields(TrainConfig):
        value, kind = getattr(cfg, f.name), f.type
        expected = {"int": int, "float": (int, float), "bool": bool, "str": str}.get(kind)
        if expected and (not isinstance(value, expected) or (kind in ("int", "float") and isinstance(value, bool))):
            raise ValueError(f"training option {f.name!r} must be {kind}, got {value!r}{where}")
    for name in ("epochs", "batch_size"):
        if getattr(cfg, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(cfg, name)}{where}")
    if cfg.lr <= 0:
        raise ValueError(f"--lr must be positive, got {cfg.lr}{where}")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as e:
        raise ValueError(f"unknown device {name!r}: use auto, cpu or cuda[:N]") from e
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {name}: no CUDA GPU is available here (use --device auto or cpu)")
    return device


def labels_of(df) -> np.ndarray:
    bad = sorted(set(df["label"]) - set(CLASSES))
    if bad:
        raise ValueError(
            f"labels {bad} are not {list(CLASSES)}: map your class folders with "
            "`realorai data scan --label-map FOLDER=ai,OTHER=real`"
        )
    return (df["label"] == "ai").to_numpy().astype(np.int64)


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


def autocast(device: torch.device, precision: str):
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"unknown precision {precision!r} (fp32 | bf16)")
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def train_one_epoch(module: nn.Module, loader, optimizer, loss_fn, device, precision: str = "fp32"):
    """One pass over ``loader`` (an iterable of (inputs, labels)); returns mean loss and accuracy."""
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
def extract_features(
    model,
    x: torch.Tensor,
    device,
    batch_size: int = 32,
    augment=None,
    show_progress: bool = True,
    desc: str = "features",
    precision: str = "fp32",
) -> torch.Tensor:
    """Backbone features for uint8 images ``x`` (augmented first when ``augment`` is given)."""
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


# Options that may change when a run is resumed: more epochs, or a different patience.
RESUMABLE_CHANGES = ("epochs", "patience")


def check_resume_config(out: Path, cfg: TrainConfig) -> None:
    """Refuse to resume with other settings than the run was started with (they would be ignored
    by the restored optimizer, or mix two experiments in one folder)."""
    try:
        old = json.loads((out / "config.json").read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"{out}: cannot resume, config.json unreadable ({e})") from e
    new = asdict(cfg)
    changed = sorted(k for k in new if k not in RESUMABLE_CHANGES and old.get(k) != new[k])
    if changed:
        diffs = ", ".join(f"{k}: {old.get(k)!r} -> {new[k]!r}" for k in changed)
        raise ValueError(f"{out}: cannot resume with changed settings ({diffs}); start a new run folder")


def seen_prefixes(*parts, limit: int = 100_000) -> list[str]:
    """64-bit sha256 prefixes of the files a model was fitted or calibrated on (empty past
    ``limit`` files), recorded in its checkpoint so evaluation can refuse to score them."""
    hashes = [h[:16] for part in parts for h in part["sha256"].astype(str)]
    return sorted(hashes) if len(hashes) <= limit else []


def _history_csv(history: list[dict]) -> str:
    buf = io.StringIO()
    if history:
        w = csv.DictWriter(buf, fieldnames=list(history[0]))
        w.writeheader()
        w.writerows(history)
    return buf.getvalue()


def fit(cfg: TrainConfig, out_dir: str | Path, resume: bool = False, show_progress: bool = True, cache=None) -> dict:
    """Train ``cfg.model`` on the manifest's train split, select on val, write RUN_DIR (locked).

    Under ``torchrun`` every process trains its shard and rank 0 alone writes RUN_DIR."""
    rank, world = distributed.setup()
    if rank != 0:
        return _fit(cfg, out_dir, resume, False, cache, rank, world)
    with folder_lock(out_dir):
        return _fit(cfg, out_dir, resume, show_progress, cache, rank, world)


def _fit(
    cfg: TrainConfig,
    out_dir: str | Path,
    resume: bool = False,
    show_progress: bool = True,
    cache: TensorCache | None = None,
    rank: int = 0,
    world: int = 1,
) -> dict:
    """Train ``cfg.model`` on the manifest's train split, select on val, write RUN_DIR."""
    out = Path(out_dir)
    main = rank == 0  # only rank 0 writes
    if resume and (out / STATE).is_file():
        check_resume_config(out, cfg)  # before anything in the run folder is rewritten
    if main:
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "config.json", asdict(cfg))
    seed_everything(cfg.seed)
    device = distributed.local_device(pick_device(cfg.device))
    spec = get_spec(cfg.model)

    df = load_manifest(cfg.manifest)
    train_df, val_df = (usable_split(df, name, cfg.manifest) for name in ("train", "val"))
    if train_df.empty or train_df["label"].nunique() < 2:
        raise ValueError(f"{cfg.manifest}: the train split needs images of both classes")

    model = create_model(cfg.model, num_classes=len(CLASSES), pretrained=cfg.pretrained).to(device)
    dcfg = model.data_config
    cache = cache or TensorCache()
    skipped: dict[str, str] = {}

    def tensors(part) -> tuple[torch.Tensor, torch.Tensor]:
        x, idx, errors = cache.get(part["path"].tolist(), dcfg, show_progress)
        skipped.update(errors)
        return x, torch.from_numpy(labels_of(part)[idx])

    x_train, y_train = tensors(train_df)
    x_val, y_val = tensors(val_df)
    for path, reason in skipped.items():
        print(f"warning: skipped {path}: {reason}")

    augment = build_augment() if cfg.augment else None
    gen = torch.Generator().manual_seed(cfg.seed)
    current_epoch = 0

    def epoch_batches():
        if world == 1:
            yield from batches(len(y_train), cfg.batch_size, True, gen)
            return
        # This rank's shard of the epoch; every rank takes the same number of steps.
        mine = distributed.shard(len(y_train), current_epoch, cfg.seed, rank, world)
        yield from split_batches(mine, cfg.batch_size, fold_single=True)

    if spec.frozen_backbone:
        # Features once per image and view; view 0 is the un-augmented image.
        def features(x, desc, aug=None):
            return extract_features(model, x, device, cfg.batch_size, aug, show_progress, desc, cfg.precision)

        views = [features(x_train, "features train")]
        if augment is not None:
            views += [features(x_train, f"features aug {v + 1}", augment) for v in range(cfg.aug_views)]
        f_train = torch.stack(views)  # (views, N, F)
        f_val = features(x_val, "features val")
        trainable = model.head

        def train_loader():
            for idx in epoch_batches():
                view = torch.randint(len(f_train), (len(idx),), generator=gen)
                yield f_train[view, idx], y_train[idx]

        def val_loader():
            for idx in batches(len(y_val), cfg.batch_size, False):
                yield f_val[idx], y_val[idx]
    else:
        # channels_last makes CPU (oneDNN) convolutions ~1.8x faster; same numbers, other memory layout.
        trainable = model.to(memory_format=torch.channels_last)
        layout = torch.channels_last

        def train_loader():
            for idx in epoch_batches():
                xb = x_train[idx]
                if augment is not None:
                    xb = augment_batch(xb, augment)
                yield normalize(xb, dcfg).contiguous(memory_format=layout), y_train[idx]

        def val_loader():
            for idx in batches(len(y_val), cfg.batch_size, False):
                yield normalize(x_val[idx], dcfg).contiguous(memory_format=layout), y_val[idx]

    params = [p for p in trainable.parameters() if p.requires_grad]
    ddp = distributed.wrap(trainable, device)  # trainable itself under one process
    if cfg.optimizer == "adam":
        optimizer = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    elif cfg.optimizer == "sgd":
        optimizer = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    else:
        raise ValueError(f"unknown optimizer {cfg.optimizer!r} (adam | sgd)")
    weight = None
    if cfg.class_weighted:
        counts = torch.bincount(y_train, minlength=len(CLASSES)).float()
        weight = (counts.sum() / (len(CLASSES) * counts.clamp(min=1))).to(device)
    loss_fn = nn.CrossEntropyLoss(weight=weight)

    history: list[dict] = []
    best_key: tuple[float, float] | None = None
    best_epoch, start, stale = -1, 0, 0
    state_path = out / STATE
    if resume and state_path.is_file():
        # weights_only: a received run folder must never run code (a pickle can); this state is
        # tensors, numbers, lists and dicts only.
        try:
            state = torch.load(state_path, map_location="cpu", weights_only=True)
        except Exception as e:  # UnpicklingError for anything but plain data
            raise ValueError(f"{state_path}: refused to load (not plain training state: {type(e).__name__})") from e
        if state.get("stopped_early"):
            raise ValueError(f"{out}: this run stopped early at epoch {len(state['history'])}; start a new run folder")
        trainable.load_state_dict(state["trainable"])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng"])
        gen.set_state(state["gen"])
        if state.get("cuda_rng") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        history, best_epoch, stale = state["history"], state["best_epoch"], state["stale"]
        best_key = tuple(state["best_key"]) if state["best_key"] else None
        start = len(history)
        print(f"resuming {out} after epoch {start}")

    has_val = len(y_val) > 0
    with progress_bar(f"train {cfg.model}", cfg.epochs, show_progress) as advance:
        advance(start)
        for epoch in range(start, cfg.epochs):
            t0 = time.perf_counter()
            current_epoch = epoch
            tr_loss, tr_acc = train_one_epoch(ddp, train_loader(), optimizer, loss_fn, device, cfg.precision)
            distributed.sync_buffers(trainable)
            va_loss, va_acc, _ = (
                evaluate(trainable, val_loader(), loss_fn, device, cfg.precision)
                if has_val
                else (float("nan"), float("nan"), None)
            )
            history.append(
                {
                    "epoch": epoch + 1,
                    "train_loss": tr_loss,
                    "train_acc": tr_acc,
                    "val_loss": va_loss,
                    "val_acc": va_acc,
                    "seconds": round(time.perf_counter() - t0, 3),
                }
            )
            key = (va_acc, -va_loss) if has_val else (float(epoch), 0.0)
            improved = best_key is None or key > best_key
            if improved:
                best_key, best_epoch, stale = key, epoch + 1, 0
            else:
                stale += 1
            stop = distributed.agree(bool(cfg.patience and stale >= cfg.patience))
            if not main:
                advance()
                if stop:
                    break
                continue
            if improved:
                save_checkpoint(out / BEST, model, {"epoch": epoch + 1, "config": asdict(cfg)})
            save_checkpoint(out / LAST, model, {"epoch": epoch + 1, "config": asdict(cfg)})
            write_json(out / "history.json", history)
            write_text(out / "history.csv", _history_csv(history))
            # Written last: a crash before this line resumes from the previous epoch.
            state = {
                "trainable": trainable.state_dict(),
                "optimizer": optimizer.state_dict(),
                "rng": torch.get_rng_state(),
                "gen": gen.get_state(),
                "history": history,
                "best_epoch": best_epoch,
                "best_key": best_key,
                "stale": stale,
                "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
                "stopped_early": stop,
            }
            write_with(state_path, partial(torch.save, state))
            advance()
            if state["stopped_early"]:
                print(f"early stop: no validation improvement for {stale} epochs")
                break

    if not main:  # rank 0 chooses the threshold and writes the checkpoint
        return {"rank": rank, "epochs_run": len(history)}
    # Decision threshold on the validation split of the best epoch; never on test.
    best_model, _ = load_checkpoint(out / BEST, device)
    if has_val:
        best_trainable = best_model.head if spec.frozen_backbone else best_model
        _, _, p_val = evaluate(best_trainable, val_loader(), loss_fn, device, cfg.precision)
        y = y_val.numpy()
        n_val = {c: int((y == i).sum()) for i, c in enumerate(CLASSES)}
        if min(n_val.values()) >= MIN_VAL_PER_CLASS:
            threshold, source = choose_threshold(y, p_val), "validation (max balanced accuracy)"
        else:
            threshold = 0.5
            source = f"default 0.5 (validation has {n_val}, under {MIN_VAL_PER_CLASS} per class)"
            print(f"warning: threshold {source}")
        val_metrics = binary_metrics(y, p_val, threshold)
    else:
        threshold, source, val_metrics = 0.5, "default 0.5 (no validation split)", {}
        n_val = {c: 0 for c in CLASSES}
    meta = {
        "epoch": best_epoch,
        "config": asdict(cfg),
        "threshold": threshold,
        "threshold_source": source,
        "n_val": n_val,
        "metrics": {"val": val_metrics},
        "seen_sha256_prefixes": seen_prefixes(train_df, val_df),
        "skipped": skipped,
        # Under torchrun: how many processes shared the training (each took its own shard).
        "distributed": {"world_size": world, "backend": "nccl" if device.type == "cuda" else "gloo"}
        if world > 1
        else None,
    }
    save_checkpoint(out / BEST, best_model, meta)
    summary = {
        "model": cfg.model,
        "best_epoch": best_epoch,
        "epochs_run": len(history),
        "threshold": threshold,
        "threshold_source": source,
        "val": val_metrics,
        "skipped": skipped,
        "train_images": int(len(y_train)),
        "val_images": int(len(y_val)),
        "params": count_params(model),
        "train_seconds": round(sum(h["seconds"] for h in history), 2),
        "world_size": world,
    }
    write_json(out / "train_summary.json", summary)
    plot_history(history, out / "curves.png", title=cfg.model)
    return summary
