"""What the learning loop costs (issue 35): CLIP block features one crop per run (batch-independent)
against runs of 4 (what it was), in seconds an image and in how far an image's features moved
with the images beside it; and a stream's refit time by its number of confirmations. Writes the
RESULTS.md section "learn_costs".

    python benchmarks/learn_costs.py [--images 24] [--examples 250 1000 2000]

Needs CLIP ViT-B/16's weights (`realorai weights fetch clip-b16`) and ../shared/data/game450.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from reproduce_report import machine, replace_section  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def clip_runs(n_images: int) -> list[str]:
    from realorai.detector.score import image_features
    from realorai.features import clip, create_extractor

    paths = sorted((DATA / "game450" / "ai").glob("*.jpg"))[:n_images]
    extractor = create_extractor("clip-b16")
    head = (
        "| crops per run | seconds an image (2 x 2 crops) | features moved by the images beside it (max relative L2) |"
    )
    lines = [head, "|---|---|---|"]
    for run in (4, 1):
        clip.RUN = run
        image_features(extractor, paths[:2])  # warm
        t = time.perf_counter()
        x, _, _ = image_features(extractor, paths)
        seconds = (time.perf_counter() - t) / len(paths)
        moved = 0.0
        for i, p in enumerate(paths[:8]):  # each image alone against its features among the others
            alone = extractor.crop_features(_crops(extractor, p))
            mixed = extractor.crop_features(np.concatenate([_crops(extractor, paths[(i + 1) % len(paths)])[:3],
                                                            _crops(extractor, p)[:1]]))[-1]  # fmt: skip
            moved = max(moved, float(np.linalg.norm(alone[0] - mixed) / np.linalg.norm(alone[0])))
        lines.append(f"| {run} | {seconds:.3f} | {moved:.4f} |")
    clip.RUN = 1
    return lines


def _crops(extractor, path) -> np.ndarray:
    from realorai.detector.crops import image_crops, plan_of
    from realorai.imaging import load_image

    return image_crops(load_image(path), plan_of(extractor))[0]


def refits(sizes: list[int], dims: int = 1536) -> list[str]:
    """Refit time of a stream of ``n`` confirmations (random features of CLIP's width with a
    signal in 20 of them: the fit's cost, not its accuracy, is measured here)."""
    from realorai.bank import Bank, Entry
    from realorai.learn import features, loop, store

    lines = ["| confirmations | refit (cross-validation, fit, tiers, written as a version) |", "|---|---|"]
    rng = np.random.default_rng(0)
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            bank = Bank(Path(tmp) / "b.db", create=True)
            store.create(bank, "bench", "clip-b16")
            y = rng.integers(0, 2, n)
            ids = bank.add([Entry(pdq=rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex(), quality=100,
                                  sha256=f"{i:064x}", label="ai" if y[i] else "real", evidence="confirmed",
                                  confirmed_by="bench") for i in range(n)])  # fmt: skip
            x = rng.normal(size=(n, dims))
            x[:, :20] += (y[:, None] - 0.5) * 1.5
            for i, entry in enumerate(ids):
                store.add_example(bank, "bench", entry, "ai" if y[i] else "real", x[i], "bench", None)
            features._extractors["clip-b16"] = _Described(dims)
            t = time.perf_counter()
            got = loop.fit(bank, "bench")
            lines.append(
                f"| {n:,} | {time.perf_counter() - t:.1f} s (cross-validated ROC-AUC {got['cv_roc_auc']:.2f}) |"
            )
            print(lines[-1], flush=True)
    return lines


class _Described:
    """Stands for the CLIP extractor in a refit (only its description and preprocessing are read)."""

    def __init__(self, dims: int) -> None:
        from realorai.models.registry import DataConfig

        self.data_config = DataConfig(input_size=224, resize="crops", crop_grid=2)
        self.num_features = dims

    def describe(self) -> dict:
        return {"name": "clip-b16", "num_features": self.num_features, "data_config": self.data_config.to_dict()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=24)
    ap.add_argument("--examples", type=int, nargs="+", default=[250, 1000, 2000])
    args = ap.parse_args()
    body = [
        "## What the learning loop costs (`benchmarks/learn_costs.py`)",
        "",
        f"Command: `{' '.join(['python', *map(shlex.quote, sys.argv)])}`. Machine: {machine()}.",
        "",
        f"CLIP ViT-B/16 block 6 on {args.images} game450 images (768 px, 2 x 2 native crops each):",
        "",
        *clip_runs(args.images),
        "",
        "A stream's refit by its number of confirmations:",
        "",
        *refits(args.examples),
    ]
    replace_section(Path(__file__).resolve().parents[1] / "docs" / "RESULTS.md", "learn_costs", "\n".join(body))
    print("\n".join(body))


if __name__ == "__main__":
    main()
