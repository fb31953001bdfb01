"""PNG plots: training curves, confusion matrix, ROC curve."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from realorai import CLASSES  # noqa: E402
from realorai.atomic import write_with  # noqa: E402
from realorai.metrics import roc_points  # noqa: E402


def _save(fig, out: str | Path) -> Path:
    fig.tight_layout()
    write_with(out, lambda p: fig.savefig(p, format="png", dpi=110))
    plt.close(fig)
    return Path(out)


def plot_history(history: list[dict], out: str | Path, title: str = "") -> Path:
    """Accuracy and loss per epoch, train vs validation (the report's curves)."""
    epochs = [h["epoch"] for h in history]
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, key, name in ((ax_acc, "acc", "accuracy"), (ax_loss, "loss", "loss")):
        ax.plot(epochs, [h[f"train_{key}"] for h in history], "o-", ms=3, label="train")
        ax.plot(epochs, [h[f"val_{key}"] for h in history], "o-", ms=3, label="validation")
        ax.set_xlabel("epoch")
        # Whole epochs on the axis; a one-epoch run is a point at epoch 1, not an axis from 0.96 to 1.04.
        ax.set_xticks(epochs if len(epochs) <= 12 else ax.get_xticks())
        ax.set_xlim(min(epochs, default=1) - 0.5, max(epochs, default=1) + 0.5)
        if key == "acc":
            ax.set_ylim(0, 1.02)
        ax.set_ylabel(name)
        ax.set_title(f"{title} {name}".strip())
        ax.grid(alpha=0.3)
        ax.legend()
    return _save(fig, out)


def plot_confusion(cm: list[list[int]], out: str | Path, title: str = "") -> Path:
    cm_arr = np.asarray(cm)
    fig, ax = plt.subplots(figsize=(4, 3.6))
    image = ax.imshow(cm_arr, cmap="Blues", vmin=0, vmax=max(1, int(cm_arr.max())))
    for (i, j), v in np.ndenumerate(cm_arr):
        # The text's colour from the cell's own colour (its luminance), never from the counts alone:
        # with equal counts every cell was the lightest blue and every count white on it.
        r, g, b, _ = image.cmap(image.norm(v))
        dark = 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.5
        ax.text(j, i, str(v), ha="center", va="center", color="white" if dark else "black", fontsize=13)
    ax.set_xticks(range(len(CLASSES)), labels=CLASSES)
    ax.set_yticks(range(len(CLASSES)), labels=CLASSES)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or "confusion matrix")
    return _save(fig, out)


def _draw_roc(ax, curves: list[tuple[str, np.ndarray, np.ndarray]], title: str, legend_size=None) -> None:
    """ROC curves (label, labels, P(AI)) with chance and the axes every ROC plot here shares."""
    for label, y, p in curves:
        if len(np.unique(y)) == 2:
            fpr, tpr = roc_points(y, p)
            ax.plot(fpr, tpr, label=label)
    ax.plot([0, 1], [0, 1], "--", color="grey", label="chance")
    ax.set_xlabel("false positive rate (real images scored above a threshold)")
    ax.set_ylabel("true positive rate (AI caught)")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=legend_size)
    ax.grid(alpha=0.3)


def plot_roc(y_true, p_ai, out: str | Path, auc: float, title: str = "") -> Path:
    fig, ax = plt.subplots(figsize=(4, 3.8))
    _draw_roc(ax, [(f"AUC = {auc:.3f}", y_true, p_ai)], title or "ROC")
    return _save(fig, out)


def plot_roc_overlay(curves: list[tuple[str, np.ndarray, np.ndarray, float]], out: str | Path, title: str = "") -> Path:
    """Every run's ROC on one plot: (name, labels, P(AI), ROC-AUC) each."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    _draw_roc(ax, [(f"{name} (AUC {auc:.3f})", y, p) for name, y, p, auc in curves], title or "ROC, every run", 8)
    return _save(fig, out)


def plot_metric_bars(names: list[str], metrics: dict[str, list[float]], out: str | Path, title: str = "") -> Path:
    """Grouped bars: one group per metric, one bar per run."""
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(metrics)), 4))
    width = 0.8 / max(1, len(names))
    for i, name in enumerate(names):
        xs = np.arange(len(metrics)) + i * width
        ax.bar(xs, [metrics[m][i] for m in metrics], width, label=name)
    ax.set_xticks(np.arange(len(metrics)) + width * (len(names) - 1) / 2, labels=list(metrics))
    ax.set_ylim(0, 1)
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax.set_title(title or "test metrics, every run")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    return _save(fig, out)
