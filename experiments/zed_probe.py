"""A ZED-style probe (Cozzolino et al. 2024, "Zero-shot detection of AI-generated images"): a
small lossless pixel predictor learned on real photos only, and how far each image's coding cost
is from what the predictor expects. No AI image is used to build it.

The predictor: luma, a linear prediction from the causal neighbours (W, N, NW, NE) fitted by least
squares on real photos; the residual's distribution per context (8 bins of local activity), a
histogram fitted on the same photos. For each pixel, the cost is -log2 p(residual | context), the
expected cost is that context's entropy; an image's score is the mean of (expected - cost): ZED
finds synthetic images coded with fewer bits than expected, so AI scores high. Fitted on
cameras162 + srbench142 (real-only sets); scored on the two-class pool sets and playground100,
as is and with both classes re-processed alike (centre square, 512 px, JPEG q90).

    python experiments/zed_probe.py    # prints a Markdown table (docs/DETECTOR.md records it)
"""

from __future__ import annotations

import io
import random
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REALS = ("cameras162", "srbench142")
TEST = ("art500", "cifake2k", "game450", "museum111", "stylegan200", "playground100")
SIDE = 512  # px: the centre crop scored (bounded cost per image)
BINS = 8


def luma(img: Image.Image, reprocess: bool) -> np.ndarray:
    img = ImageOps.exif_transpose(img).convert("RGB")
    if reprocess:
        s = min(img.size)
        left, top = (img.width - s) // 2, (img.height - s) // 2
        img = img.crop((left, top, left + s, top + s)).resize((512, 512), Image.Resampling.BICUBIC)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=90)
        img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    w, h = img.size
    if max(w, h) > SIDE:
        left, top = max(0, (w - SIDE) // 2), max(0, (h - SIDE) // 2)
        img = img.crop((left, top, left + min(w, SIDE), top + min(h, SIDE)))
    return np.asarray(img.convert("L"), dtype=np.float64)


def neighbours(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pixels, their W, N, NW, NE neighbours, activity context) for every pixel with all four."""
    x = y[1:, 1:-1]
    nb = np.stack([y[1:, :-2], y[:-1, 1:-1], y[:-1, :-2], y[:-1, 2:]], axis=-1)
    act = np.abs(nb[..., 0] - nb[..., 2]) + np.abs(nb[..., 1] - nb[..., 2]) + np.abs(nb[..., 1] - nb[..., 3])
    return x.ravel(), nb.reshape(-1, 4), act.ravel()


def context(act: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.searchsorted(edges, act)


def fit(paths: list[Path]):
    xs, nbs, acts = [], [], []
    rng = np.random.default_rng(0)
    for p in paths:
        with Image.open(p) as im:
            x, nb, act = neighbours(luma(im, False))
        keep = rng.choice(len(x), min(len(x), 20_000), replace=False)
        xs.append(x[keep]), nbs.append(nb[keep]), acts.append(act[keep])
    x, nb, act = np.concatenate(xs), np.concatenate(nbs), np.concatenate(acts)
    a = np.c_[nb, np.ones(len(nb))]
    coef = np.linalg.lstsq(a, x, rcond=None)[0]
    edges = np.quantile(act, np.linspace(0, 1, BINS + 1)[1:-1])
    r = np.clip(np.rint(x - a @ coef), -255, 255).astype(int) + 255
    ctx = context(act, edges)
    hist = np.ones((BINS, 511))  # Laplace smoothing
    np.add.at(hist, (ctx, r), 1)
    p = hist / hist.sum(1, keepdims=True)
    entropy = -(p * np.log2(p)).sum(1)
    return coef, edges, np.log2(p), entropy


def score(path: Path, model, reprocess: bool) -> float:
    coef, edges, logp, entropy = model
    with Image.open(path) as im:
        x, nb, act = neighbours(luma(im, reprocess))
    r = np.clip(np.rint(x - np.c_[nb, np.ones(len(nb))] @ coef), -255, 255).astype(int) + 255
    ctx = context(act, edges)
    return float(np.mean(entropy[ctx] + logp[ctx, r]))  # expected - cost (cost = -log2 p)


def files(name: str) -> list[tuple[Path, int]]:
    out = []
    for label, y in (("ai", 1), ("real", 0)):
        out += [
            (p, y)
            for p in sorted((DATA / name / label).glob("*"))
            if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp")
        ]
    return out


def main() -> None:
    from sklearn.metrics import roc_auc_score

    reals = [p for n in REALS for p, _ in files(n)]
    random.Random(0).shuffle(reals)
    model = fit(reals)
    print("| set | images | ROC-AUC as is | ROC-AUC, both classes re-processed alike |")
    print("|---|---|---|---|")
    for name in TEST:
        fs = files(name)
        y = np.array([c for _, c in fs])
        cells = []
        for rep in (False, True):
            s = np.array([score(p, model, rep) for p, _ in fs])
            cells.append(f"{roc_auc_score(y, s):.3f}")
        print(f"| {name} | {len(fs)} | {cells[0]} | {cells[1]} |", flush=True)
    print(f"command: python {' '.join(sys.argv)}")


if __name__ == "__main__":
    main()
