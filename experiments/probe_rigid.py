"""Probe: are generated images less stable than real ones, in a pretrained network's
representation, under a tiny noise (RIGID, He, Chen and Ho 2024)? Training-free.

RIGID scores an image by ``1 - cos(f(x), f(x + lambda * noise))``: real images keep their
representation under a small Gaussian perturbation, generated ones move more. The paper uses
DINOv2; the only ImageNet backbone with weights here is EfficientNet-Lite0, so ``f`` is its pooled
last layer (1,280 numbers). Each image's crops are the shipped detector's crop plan (native
resolution, up to 2 x 2 crops of 224 px; cifake2k's 32-px images are upsampled, so its figure says
little); the score is the mean over its crops and two noise draws. The direction (higher = AI)
and the noise levels are fixed before reading any figure, so every set is one the "detector"
never saw: the per-set ROC-AUC is the cross-dataset figure. A screen, not the protocol of
docs/DETECTOR.md; playground100 is never read.

    python experiments/probe_rigid.py [--cap 100]

Results in runs/probe-rigid.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from probe_heads import auc  # noqa: E402
from probe_spectral import dataset_items, image_crops_of  # noqa: E402

SETS = ("art500", "cifake2k", "game450", "museum111", "stylegan200")
LAMBDAS = (0.05, 0.1)  # in the network's normalised input units, as in the paper
DRAWS = 2


def backbone():
    import timm

    from realorai.models.weights import load_lite_weights

    net = timm.create_model("tf_efficientnet_lite0", num_classes=0)
    return load_lite_weights(net, 0).eval()


@torch.no_grad()
def instability(net, crops: np.ndarray, seed: int) -> dict[float, float]:
    """Mean over crops and draws of 1 - cos(f(x), f(x + lambda * noise)), per lambda."""
    x = torch.from_numpy(crops).float().div(255).sub(0.5).div(0.5)  # tf_efficientnet_lite: mean = std = 0.5
    clean = net(x)
    g = torch.Generator().manual_seed(seed)
    out = {}
    for lam in LAMBDAS:
        sims = [
            torch.nn.functional.cosine_similarity(clean, net(x + lam * torch.randn(x.shape, generator=g)), dim=1)
            for _ in range(DRAWS)
        ]
        out[lam] = float(1 - torch.stack(sims).mean())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--cap", type=int, default=100, help="images per class and set (the first files)")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "probe-rigid.json")
    args = ap.parse_args()
    from realorai.atomic import write_json
    from realorai.detector.crops import plan_of
    from realorai.models import create_model

    plan = plan_of(create_model("detector-lite0-early"))
    net = backbone()
    result = {"command": "python experiments/probe_rigid.py " + " ".join(sys.argv[1:]), "sets": {}}
    t0 = time.perf_counter()
    for name in SETS:
        items = dataset_items(args.data, name, args.cap)
        paths, y = [p for p, _ in items], np.array([label for _, label in items])
        scores = [instability(net, c, i) for i, c in enumerate(image_crops_of(paths, plan))]
        result["sets"][name] = {
            "n": len(y),
            **{f"auc_lambda_{lam}": auc(y, np.array([s[lam] for s in scores])) for lam in LAMBDAS},
        }
        print(name, result["sets"][name], flush=True)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    for lam in LAMBDAS:
        vals = [v[f"auc_lambda_{lam}"] for v in result["sets"].values()]
        result[f"mean_lambda_{lam}"] = float(np.mean(vals))
    write_json(args.out, result)
    print(json.dumps({k: v for k, v in result.items() if k != "sets"}, indent=2))


if __name__ == "__main__":
    main()
