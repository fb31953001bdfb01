"""One version of a stream's head: ``adapt``'s fit on the stream's stored features, written as the
bytes of an adapted-head file (the format ``realorai adapt`` writes and ``Detector.load`` reads)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from realorai.bank import Bank
from realorai.bank.match import MATCH  # pictures this close are one group: never split between folds
from realorai.bank.pdq import distances


def groups_of(bank: Bank, entries: list[int]) -> np.ndarray:
    """Near-duplicate groups of the examples' pictures (their banked PDQ hashes within 31 bits)."""
    hexes = {e.id: e.pdq for e in bank.entries(sorted(set(entries)))}
    hashes = np.stack([np.frombuffer(bytes.fromhex(hexes[e]), np.uint8) for e in entries])
    group = np.arange(len(entries))
    for i in range(1, len(entries)):
        close = np.flatnonzero(distances(hashes[i : i + 1], hashes[:i])[0] <= MATCH)
        if len(close):
            group[i] = group[close[0]]
    return group


def fit_version(bank: Bank, info: dict, examples: list, version: int, seed: int, started: float) -> tuple[bytes, dict]:
    """(head file bytes, its metadata) fitted on ``examples``; the tiers are measured on held-out
    confirmations of this stream (the row's ``reliability`` says so, and names the version)."""
    import dataclasses

    from realorai.detector.adapt import Examples, adapt_head
    from realorai.inference.adapt import base_prior, neutral_prior
    from realorai.inference.adapt_report import fingerprint
    from realorai.inference.detector import Detector
    from realorai.learn.curve import say, what_would_help
    from realorai.learn.features import extractor
    from realorai.models.checkpoint import save_adapted
    from realorai.tiers import TARGET, roc_auc

    x = np.stack([e.features for e in examples])
    y = np.array([e.label == "ai" for e in examples], dtype=int)
    groups = groups_of(bank, [e.entry for e in examples]).astype(str)
    name = info["features"]
    base = Detector.shipped()
    prior = base_prior(base, None) if name == "early" else neutral_prior(x)
    ex = Examples(x, y, groups, np.ones(len(y), bool))
    fit = adapt_head(ex, prior, seed=seed)
    helps = what_would_help(ex, prior, fit, TARGET, seed)  # empty when both tiers are there
    scope = f"held-out confirmations of stream '{info['name']}' (version {version})"
    fit.tiers = dataclasses.replace(fit.tiers, scope=scope)
    feats = {"name": "early"} if name == "early" else extractor(name).describe()
    sha = {e.id: e.sha256 for e in bank.entries(sorted({e.entry for e in examples}))}
    auc = roc_auc(fit.cv.oof, fit.cv.y)
    summary = {"name": info["name"], "version": version, "examples": {"ai": int(y.sum()), "real": int((1 - y).sum())},
               "groups": int(len(set(groups))), "cv_roc_auc": auc, "lambda": fit.cv.lam,
               "tiers": {"likely_ai_from": fit.tiers.likely_ai_from, "likely_real_below": fit.tiers.likely_real_below},
               "would_help": say(helps, [e.entry for e in examples]), "curve": helps,
               "seconds": round(time.perf_counter() - started, 2)}  # fmt: skip
    meta = {
        "model": base.name if name == "early" else f"{name}-head",
        "data_config": base.meta.get("data_config") if name == "early" else extractor(name).data_config.to_dict(),
        "threshold": 0.5,
        "reliability": {"method": fit.tiers.how, "tiers": fit.tiers.to_dict()},
        "adapted": {"base": {"model": base.name, "source": "shipped"}, "features": feats, "b": fit.head.b,
                    "platt": {"a": fit.a, "b": fit.b}, "what": f"stream {info['name']}, version {version}",
                    "cross_validation": {"folds": fit.cv.folds, "lambda": fit.cv.lam, "roc_auc": auc},
                    "warnings": [], "examples": {"ai": summary["examples"]["ai"], "real": summary["examples"]["real"],
                                                 "groups": summary["groups"], "views": 0,
                                                 "fingerprint": fingerprint(sha.values())}},
        "seen_sha256_prefixes": sorted(h[:16] for h in sha.values()),
        "stream": summary,
    }  # fmt: skip
    arrays = {"mu": fit.head.mu, "sigma": fit.head.sigma, "w": fit.head.w}
    with tempfile.TemporaryDirectory() as tmp:
        path = save_adapted(Path(tmp) / "adapted.safetensors", arrays, meta)
        return path.read_bytes(), meta


def prepare(bank: Bank, stream: str, seed: int = 0) -> tuple[int, bytes, dict]:
    """(version, head file bytes, meta) of the next version, fitted but not written: what a
    background refit computes in its child process (``learn.refit``; only the server writes)."""
    from realorai.learn import store

    t0 = time.perf_counter()
    info = store.get(bank, stream)
    examples = store.examples(bank, stream)
    counts = {label: sum(e.label == label for e in examples) for label in ("ai", "real")}
    short = {k: info["min_per_class"] - n for k, n in counts.items() if n < info["min_per_class"]}
    if short:
        more = " and ".join(f"{n} more {k}" for k, n in short.items())
        raise ValueError(f"stream {stream!r} has {counts['ai']} AI and {counts['real']} real confirmations: "
                         f"{more} confirmations are needed before it can be fitted (its verdicts stay "
                         "inconclusive until then)")  # fmt: skip
    version = store.latest_number(bank, stream) + 1
    head, meta = fit_version(bank, info, examples, version, seed, t0)
    return version, head, meta
