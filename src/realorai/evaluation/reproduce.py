"""The student report, reproduced end to end: scan, audit, split, train three models, evaluate,
compare. Every stage is timed; the decoded images are shared between models."""

from __future__ import annotations

import os
import platform
import time
from contextlib import contextmanager
from pathlib import Path

import torch

from realorai.atomic import write_json
from realorai.baselines.config import resolve_config
from realorai.baselines.preprocess import TensorCache
from realorai.baselines.train import fit
from realorai.baselines.transfer import RESNET101_WEIGHTS
from realorai.data.audit import audit
from realorai.data.manifest import save_manifest, scan, summary
from realorai.data.overview import sample_grid
from realorai.data.split import split, split_counts
from realorai.evaluation.evaluate import evaluate_run
from realorai.evaluation.runs_report import write_report
from realorai.models.weights import torchvision_cache_file, torchvision_weights_available

REPORT_MODELS = ("report-cnn", "resnet101-transfer", "efficientnet-lite0-transfer")


def reproduce(
    data: str | Path,
    out: str | Path,
    models: tuple[str, ...] = REPORT_MODELS,
    seed: int = 0,
    epochs: int | None = None,
    precision: str = "fp32",
    ratios: tuple[float, float, float] = (0.7, 0.1, 0.2),
    show_progress: bool = True,
    log=print,
) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    @contextmanager
    def stage(name: str):
        log(f"== {name}")
        t0 = time.perf_counter()
        yield
        timings[name] = round(time.perf_counter() - t0, 2)
        log(f"   {name}: {timings[name]:.1f} s")

    manifest = out / "manifest.parquet"
    with stage("scan"):
        df = scan(data, show_progress=show_progress)
        log(f"   {summary(df)}")
    with stage("audit"):
        report = audit(df, seed=seed)
        write_json(out / "audit.json", report)
        for w in report["warnings"]:
            log(f"   WARNING: {w}")
    with stage("split"):
        df = split(df, seed=seed, ratios=ratios)
        save_manifest(df, manifest)
        log(f"   {split_counts(df)}")
    with stage("overview"):
        sample_grid(df, out / "overview.png", seed=seed)

    cache = TensorCache()
    notes: dict[str, str] = {}
    runs = []
    for name in models:
        pretrained = True
        if name == "resnet101-transfer" and not torchvision_weights_available(RESNET101_WEIGHTS):
            pretrained = False
            notes[name] = (
                f"ImageNet weights not found at {torchvision_cache_file(RESNET101_WEIGHTS)}: "
                "backbone is RANDOMLY INITIALISED (offline machine), unlike the report"
            )
            log(f"   NOTE {name}: {notes[name]}")
        elif name == "report-cnn":
            pretrained = False
        cfg = resolve_config(name, str(manifest), pretrained=pretrained, seed=seed, epochs=epochs, precision=precision)
        run_dir = out / "runs" / name
        with stage(f"train {name}"):
            fit(cfg, run_dir, show_progress=show_progress, cache=cache)
        with stage(f"evaluate {name}"):
            m = evaluate_run(run_dir, manifest, "test", show_progress=show_progress)
            log(m["report"])
        runs.append(run_dir)

    with stage("report"):
        written = write_report(runs, out / "report.html", title="realorai: the report's models, reproduced")
    result = {
        "data": str(Path(data).resolve()),
        "out": str(out),
        "seed": seed,
        "precision": precision,
        "models": list(models),
        "notes": notes,
        "timings_s": timings,
        "total_s": round(sum(timings.values()), 2),
        "report": [str(p) for p in written],
        "runs": [str(r) for r in runs],
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "cuda": torch.cuda.is_available()},
    }
    write_json(out / "reproduce.json", result)
    return result
