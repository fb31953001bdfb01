"""End-to-end detector training at scale: an interrupted run resumes to the weights an
uninterrupted one reaches, the settings of a resumed run are checked, and under torchrun each
process trains its own share of every epoch."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_dataset
from torch.utils.data import WeightedRandomSampler

from realorai.detector import e2e
from realorai.detector.fit import DetectorConfig, fit_detector

QUIET = {"show_progress": False, "log": lambda m: None}


def test_one_process_draws_what_weighted_random_sampler_draws_and_ranks_share_it():
    w = np.random.default_rng(0).random(37)
    ref = list(WeightedRandomSampler(w, len(w), generator=torch.Generator().manual_seed(5 + 3)))
    assert e2e.epoch_indices(w, epoch=3, seed=5) == ref
    shares = [e2e.epoch_indices(w, epoch=3, seed=5, rank=r, world=2) for r in (0, 1)]
    assert len(shares[0]) == len(shares[1]) == 19  # padded: every rank takes as many steps
    assert [i for pair in zip(*shares, strict=True) for i in pair][:37] == ref
    assert e2e.epoch_indices(w, epoch=4, seed=5) != ref  # a new draw each epoch


def _cfg(tmp_path, **kw) -> DetectorConfig:
    data = [make_dataset(tmp_path / n, per_class=10, size=80) for n in ("a", "b")]
    base = {"model": "detector-patch-none", "data": tuple(map(str, data)), "epochs": 2, "batch_size": 8,
            "workers": 0, "train_crop": 64}  # fmt: skip
    return DetectorConfig(**{**base, **kw})


def _last_weights(run: Path) -> dict:
    return torch.load(run / e2e.STATE, weights_only=True)["model"]


def test_an_interrupted_run_resumes_where_it_stopped_and_ends_as_an_uninterrupted_one(tmp_path, monkeypatch):
    cfg = _cfg(tmp_path)
    fit_detector(cfg, tmp_path / "whole", **QUIET)
    calls = []
    real_epoch = e2e.train_epoch

    def dies_in_epoch_two(*args, **kw):
        calls.append(args[3])
        if args[3] == 1:
            raise KeyboardInterrupt
        return real_epoch(*args, **kw)

    monkeypatch.setattr(e2e, "train_epoch", dies_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        fit_detector(cfg, tmp_path / "cut", **QUIET)
    assert not (tmp_path / "cut" / "best.safetensors").exists()
    assert len(torch.load(tmp_path / "cut" / e2e.STATE, weights_only=True)["history"]) == 1
    calls.clear()
    monkeypatch.setattr(e2e, "train_epoch", lambda *a, **k: calls.append(a[3]) or real_epoch(*a, **k))
    summary = fit_detector(cfg, tmp_path / "cut", resume=True, **QUIET)
    assert calls == [1]  # only the epoch that had not finished
    whole, cut = _last_weights(tmp_path / "whole"), _last_weights(tmp_path / "cut")
    assert all(torch.allclose(whole[k].float(), cut[k].float(), atol=1e-6) for k in whole)
    meta = json.loads((tmp_path / "cut" / "train_summary.json").read_text())
    assert meta["temperature"] == pytest.approx(summary["temperature"])
    from realorai.models.checkpoint import read_meta

    assert [h["epoch"] for h in read_meta(tmp_path / "cut")["history"]] == [1, 2]


def test_a_resume_with_other_settings_or_of_a_frozen_design_is_refused(tmp_path):
    cfg = _cfg(tmp_path, epochs=1)
    fit_detector(cfg, tmp_path / "run", **QUIET)
    with pytest.raises(ValueError, match=r"changed settings \(lr: 0.002 -> 0.01\)"):
        fit_detector(DetectorConfig(**{**cfg.to_dict(), "lr": 0.01}), tmp_path / "run", resume=True, **QUIET)
    moved = DetectorConfig(**{**cfg.to_dict(), "workers": 1})  # where it runs may change
    fit_detector(moved, tmp_path / "run", resume=True, **QUIET)
    with pytest.raises(ValueError, match="frozen designs have no epochs to resume"):
        fit_detector(DetectorConfig(model="detector-lite0-early", data=cfg.data), tmp_path / "f", resume=True)


@pytest.mark.slow
def test_torchrun_trains_an_end_to_end_detector_on_shares_of_each_epoch(tmp_path):
    torchrun = shutil.which("torchrun")
    if torchrun is None:
        pytest.skip("torchrun is not on PATH")
    data = [make_dataset(tmp_path / n, per_class=10, size=80) for n in ("a", "b")]
    entry = str(Path(__file__).resolve().parent / "torchrun_entry.py")
    out = tmp_path / "ddp"
    cmd = [torchrun, "--nproc_per_node", "2", entry, "train", "--model", "detector-patch-none", "-o", str(out)]
    cmd += [a for d in data for a in ("--data", str(d))] + ["--epochs", "2", "--batch-size", "4", "-q"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    # The first failing rank speaks first; torchrun's summary comes last: show both.
    assert r.returncode == 0, r.stderr[:3000] + "\n[...]\n" + r.stderr[-1500:]
    assert r.stdout.count("wrote") == 1  # rank 0 alone reports and writes
    from realorai.models.checkpoint import read_meta

    meta = read_meta(out)
    assert meta["distributed"] == {"world_size": 2, "backend": "gloo"}
    n_train = meta["train_images"]
    # Each process steps through its half of the epoch's draw, 4 crops at a time.
    assert [h["steps"] for h in meta["history"]] == [math.ceil(math.ceil(n_train / 2) / 4)] * 2
    from realorai.inference.detector import Detector

    rows = Detector.load(out, "cpu", "torch").rows([str(next((data[0] / "ai").iterdir()))])
    assert 0 <= rows[0]["p_ai"] <= 1


def test_the_end_to_end_chain_is_the_configured_one(tmp_path, monkeypatch):
    from realorai.detector.augment import NEUTRAL_CHAIN, AugmentConfig

    chains = []
    real = e2e.CropDataset
    monkeypatch.setattr(e2e, "CropDataset", lambda paths, plan, aug=None, *a, **k: chains.append(aug) or real(
        paths, plan, aug, *a, **k))  # fmt: skip
    light = AugmentConfig(p_downscale=0.0, p_blur=0.0, p_jpeg=0.0)
    fit_detector(_cfg(tmp_path, epochs=1, e2e_augment=light), tmp_path / "light", **QUIET)
    fit_detector(_cfg(tmp_path, epochs=1), tmp_path / "neutral", **QUIET)
    trained = [c for c in chains if c is not None]  # validation and test crops are never augmented
    assert trained == [light, NEUTRAL_CHAIN]
