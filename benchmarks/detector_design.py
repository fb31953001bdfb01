"""Compare detector designs by how well they carry to data they never saw (docs/DETECTOR.md).

Designs: frozen EfficientNet-Lite0 features read as (a) the pooled last layer, (b) mean+std of
every block ("multiscale"), (c) the first three blocks only ("early"), (d) multiscale features
of the NPR residual. Each gets the same native-resolution crops and the same augmentation.

Criteria, all on data outside the training fold (playground100 is never used here):
  * leave-one-dataset-out over the training pool (art500 <-> cifake2k), ROC-AUC;
  * leave-one-generator-out inside art500: train on five generators (and 5/6 of the real
    images), test on the sixth generator against the held-back real images, ROC-AUC.

Usage: python benchmarks/detector_design.py [--data ../shared/data] [--views 2]
Writes docs/detector_design.json and the table in docs/DETECTOR.md's "Design comparison".
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from realorai.atomic import write_json
from realorai.detector.augment import AugmentConfig
from realorai.detector.crops import CropPlan
from realorai.detector.dataset import CropDataset
from realorai.detector.features import crop_features
from realorai.detector.head import fit_head_arrays, predict_logits
from realorai.inference.inputs import expand_inputs
from realorai.metrics import roc_auc_or_nan
from realorai.models import create_model

ROOT = Path(__file__).resolve().parents[1]


def labelled(folder: Path) -> tuple[list[str], np.ndarray]:
    paths, labels = [], []
    for label, y in (("real", 0), ("ai", 1)):
        files, _ = expand_inputs([str(folder / label)])
        paths += files
        labels += [y] * len(files)
    return paths, np.array(labels)


def design_columns(name: str, n_multiscale: int) -> slice:
    return {
        "multiscale": slice(0, n_multiscale),
        "npr": slice(0, n_multiscale),
        "early": slice(0, 160),
        "pooled": slice(n_multiscale - 1280, n_multiscale),
    }[name]


def finetune_scores(train_paths, train_y, test_paths, epochs: int, seed: int = 0) -> np.ndarray:
    """Partial fine-tuning: the last two stages, the head conv and a new linear classifier of
    EfficientNet-Lite0 trained on augmented random crops; test images scored over the crop plan."""
    import random

    import timm

    from realorai.detector.features import crop_loader
    from realorai.models import normalize
    from realorai.models.weights import load_lite_weights

    torch.manual_seed(seed)
    random.seed(seed)
    net = timm.create_model("tf_efficientnet_lite0", pretrained=False, num_classes=0)
    load_lite_weights(net, 0)
    net.requires_grad_(False)
    tuned = [net.blocks[5], net.blocks[6], net.conv_head, net.bn2]
    for m in tuned:
        m.requires_grad_(True)
    fc = torch.nn.Linear(net.num_features, 1)
    model = torch.nn.Sequential(net, fc).to(memory_format=torch.channels_last)
    dcfg = create_model("detector-lite0-pooled").data_config
    plan = CropPlan(size=dcfg.input_size, grid=dcfg.crop_grid)
    opt = torch.optim.AdamW(
        [{"params": [p for m in tuned for p in m.parameters()], "lr": 1e-4}, {"params": fc.parameters(), "lr": 1e-3}],
        weight_decay=1e-4,
    )
    y_all = torch.as_tensor(np.asarray(train_y), dtype=torch.float32)
    for epoch in range(epochs):
        order = np.random.default_rng(seed + epoch).permutation(len(train_paths))
        ds = CropDataset([train_paths[i] for i in order], plan, AugmentConfig(), seed=seed + 100 * epoch)
        net.train()
        for m in (net.conv_stem, net.bn1, *net.blocks[:5]):
            m.eval()  # frozen part keeps its ImageNet BatchNorm statistics
        for batch in crop_loader(ds, 32, 2):
            if not len(batch["crops"]):
                continue
            x = normalize(torch.from_numpy(batch["crops"]), dcfg).contiguous(memory_format=torch.channels_last)
            target = y_all[torch.as_tensor(order[batch["index"]])][torch.from_numpy(batch["owner"])]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x).squeeze(1), target)
            opt.zero_grad()
            loss.backward()
            opt.step()
        print(f"  finetune epoch {epoch + 1}/{epochs}: last loss {loss.item():.3f}", flush=True)
    model.eval()
    scores = np.full(len(test_paths), np.nan)
    with torch.no_grad():
        for batch in crop_loader(CropDataset(test_paths, plan), 16, 2):
            if not len(batch["crops"]):
                continue
            crops = torch.from_numpy(batch["crops"])
            z = model(normalize(crops, dcfg).contiguous(memory_format=torch.channels_last)).squeeze(1)
            owner = torch.from_numpy(batch["owner"])
            for n, i in enumerate(batch["index"]):
                scores[i] = float(z[owner == n].mean())
    return scores


def finetune_results(sets, gen, epochs: int) -> dict:
    r: dict = {}
    for train, test in (("art500", "cifake2k"), ("cifake2k", "art500")):
        z = finetune_scores(sets[train][0], sets[train][1], sets[test][0], epochs)
        r[f"lodo_{test}"] = roc_auc_or_nan(sets[test][1], z)
        print(f"finetune lodo {test}: {r[f'lodo_{test}']:.3f}", flush=True)
    paths, y = sets["art500"]
    real_fold = np.random.default_rng(0).integers(0, 6, size=len(paths))
    aucs = {}
    for k, g in enumerate(sorted(set(gen) - {"real"})):
        test_mask = (gen == g) | ((gen == "real") & (real_fold == k))
        tr = [p for p, m in zip(paths, test_mask, strict=True) if not m]
        te = [p for p, m in zip(paths, test_mask, strict=True) if m]
        aucs[g] = roc_auc_or_nan(y[test_mask], finetune_scores(tr, y[~test_mask], te, epochs))
    r.update(
        logo_art500_mean=float(np.mean(list(aucs.values()))),
        logo_art500_min=float(np.min(list(aucs.values()))),
        logo_art500=aucs,
        lodo_mean=float(np.mean([r["lodo_cifake2k"], r["lodo_art500"]])),
    )
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--views", type=int, default=2, help="augmented crops per training image")
    ap.add_argument("--out", default=str(ROOT / "docs" / "detector_design.json"))
    ap.add_argument("--finetune-epochs", type=int, default=3, help="0 skips the fine-tuning design")
    ap.add_argument("--cache", default="", help="folder to keep extracted features in between runs")
    args = ap.parse_args()
    torch.manual_seed(0)
    data = Path(args.data)
    sets = {name: labelled(data / name) for name in ("art500", "cifake2k")}
    t0 = time.perf_counter()
    feats: dict[tuple[str, str, str], np.ndarray] = {}
    for filt, model_name in (("none", "detector-lite0-multiscale"), ("npr", "detector-lite0-npr")):
        model = create_model(model_name, pretrained=True).to(memory_format=torch.channels_last)
        plan = CropPlan(size=model.data_config.input_size, grid=model.data_config.crop_grid)
        for name, (paths, _) in sets.items():
            cached = Path(args.cache) / f"{filt}-{name}-{args.views}.npz" if args.cache else None
            if cached and cached.is_file():
                z = np.load(cached)
                clean, aug = z["clean"], z["aug"]
            else:
                clean, _, _ = crop_features(model, CropDataset(paths, plan), desc=f"{filt} {name} clean")
                aug, _, _ = crop_features(
                    model, CropDataset(paths, plan, AugmentConfig(), views=args.views), desc=f"{filt} {name} aug"
                )
                if cached:
                    cached.parent.mkdir(parents=True, exist_ok=True)
                    np.savez(cached, clean=clean, aug=aug)
            feats[(filt, name, "clean")], feats[(filt, name, "aug")] = clean, aug
    extract_s = time.perf_counter() - t0
    n_ms = feats[("none", "art500", "clean")].shape[1]
    gens = pd.read_csv(data / "art500" / "generators.csv")
    gen_of = dict(zip((str(data / "art500" / f) for f in gens["file"]), gens["generator"], strict=True))

    def train_views(filt, name, cols, keep):
        f_aug = feats[(filt, name, "aug")][:, cols]
        f_clean = feats[(filt, name, "clean")][:, cols]
        n = len(keep)
        y = sets[name][1]
        rows = [f_clean[keep]] + [f_aug[v * n : (v + 1) * n][keep] for v in range(args.views)]
        return np.concatenate(rows), np.tile(y[keep], 1 + args.views)

    results = {}
    for design in ("pooled", "multiscale", "early", "npr"):
        filt = "npr" if design == "npr" else "none"
        cols = design_columns(design, n_ms)
        r: dict[str, float] = {}
        for train, test in (("art500", "cifake2k"), ("cifake2k", "art500")):
            keep = np.ones(len(sets[train][1]), bool)
            x, y = train_views(filt, train, cols, keep)
            head = fit_head_arrays(x, y, seed=0)
            z = predict_logits(head, feats[(filt, test, "clean")][:, cols])
            r[f"lodo_{test}"] = roc_auc_or_nan(sets[test][1], z)
        paths, y_art = sets["art500"]
        gen = np.array([gen_of.get(p, "real") if y == 1 else "real" for p, y in zip(paths, y_art, strict=True)])
        rng = np.random.default_rng(0)
        real_fold = rng.integers(0, 6, size=len(paths))
        aucs = {}
        for k, g in enumerate(sorted(set(gen) - {"real"})):
            test_mask = (gen == g) | ((gen == "real") & (real_fold == k))
            x, yy = train_views(filt, "art500", cols, ~test_mask)
            head = fit_head_arrays(x, yy, seed=0)
            z = predict_logits(head, feats[(filt, "art500", "clean")][test_mask][:, cols])
            aucs[g] = roc_auc_or_nan(y_art[test_mask], z)
        r["logo_art500_mean"] = float(np.mean(list(aucs.values())))
        r["logo_art500_min"] = float(np.min(list(aucs.values())))
        r["logo_art500"] = aucs
        r["lodo_mean"] = float(np.mean([r["lodo_cifake2k"], r["lodo_art500"]]))
        results[design] = r
        print(design, json.dumps({k: v for k, v in r.items() if k != "logo_art500"}), flush=True)
    if args.finetune_epochs:
        paths, y_art = sets["art500"]
        gen = np.array([gen_of.get(p, "real") if y == 1 else "real" for p, y in zip(paths, y_art, strict=True)])
        results["finetune"] = finetune_results(sets, gen, args.finetune_epochs)
        print("finetune", json.dumps({k: v for k, v in results["finetune"].items() if k != "logo_art500"}), flush=True)
    write_json(
        args.out,
        {
            "command": "python " + " ".join(sys.argv),
            "views": args.views,
            "extract_seconds": round(extract_s, 1),
            "results": results,
        },
    )
    print(f"wrote {args.out} ({extract_s:.0f} s of feature extraction)")


if __name__ == "__main__":
    main()
