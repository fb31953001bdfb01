"""Probe (issue 35): would a label-free novelty gate protect an unseen source? The stream of
benchmarks/stream.py, replayed with one change: an item whose features are farther from the
stream's confirmed examples than ``--quantile`` of the examples' own leave-one-out distances
(mean cosine distance to the k nearest, on the head's standardised features) stays inconclusive.

    python experiments/stream_novelty.py [--quantile 0.95] [--k 5]

Reads the features cached by benchmarks/stream.py (runs/stream-features-clip-b16.npz).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import stream as bench  # noqa: E402


def make_gate(k: int, quantile: float):
    from realorai.learn import store

    cache: dict = {}

    def gate(bank, det, x: np.ndarray) -> bool:
        version = det.meta["stream"]["version"]
        if cache.get("version") != version:
            head = det.model.head
            ex = (np.stack([e.features for e in store.examples(bank, "s")]) - head.mu) / head.sigma
            ex /= np.linalg.norm(ex, axis=1, keepdims=True) + 1e-12
            sims = ex @ ex.T
            np.fill_diagonal(sims, -np.inf)
            loo = 1 - np.sort(sims, axis=1)[:, -k:].mean(axis=1)
            cache.update(version=version, ex=ex, mu=head.mu, sigma=head.sigma, limit=np.quantile(loo, quantile))
        q = (x - cache["mu"]) / cache["sigma"]
        q /= np.linalg.norm(q) + 1e-12
        return float(1 - np.sort(cache["ex"] @ q)[-k:].mean()) > cache["limit"]

    return gate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quantile", type=float, default=0.95)
    ap.add_argument("--k", type=int, default=5)
    args = ap.parse_args()
    items = bench.pool()
    x, hashes = bench.features_and_hashes(items, ROOT / "runs" / "stream-features-clip-b16.npz")
    for unseen in bench.SOURCES:
        s = bench.summarise(bench.run(items, x, hashes, unseen, 0.10, 20, 0, gate=make_gate(args.k, args.quantile)))
        worst, mix = s["unseen_worst_window_wrong"], s["mix_decided"]
        print(f"{unseen}: unseen decided {s['unseen_decided']:.0%}, wrong {s['unseen_wrong']:.1%}, worst window "
              f"{worst:.1%}; mix at 50 a class {mix:.0%}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
