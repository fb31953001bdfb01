"""``realorai models`` and ``realorai train``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from realorai.cli.common import Optim, Quiet, err, fail, out


def models_cmd() -> None:
    """List the registered models and their preprocessing."""
    from realorai.models import get_spec, list_models

    for name in list_models():
        s = get_spec(name)
        d = s.data_config
        out.print(
            f"[bold]{name}[/]\n    {s.description}\n    input {d.input_size}px {d.interpolation} {d.resize}, "
            f"mean {d.mean}, std {d.std}; preset {json.dumps(s.preset)}",
            highlight=False,
        )
    from realorai.inference.default import CLIP_WEIGHTS, LITE0_WEIGHTS, packaged
    from realorai.models.checkpoint import read_meta

    for role, name in (("default", CLIP_WEIGHTS), ("fallback", LITE0_WEIGHTS)):
        try:
            path = packaged(name)
            meta = read_meta(path)
        except (FileNotFoundError, ValueError) as e:
            err.print(f"no shipped {role} detector: {e}", highlight=False)
            continue
        when = ("used when no --model is given; CLIP's tower comes on first use" if role == "default"
                else "used when CLIP's tower can't be had, or with REALORAI_DEFAULT_DETECTOR=lite0")  # fmt: skip
        out.print(
            f"[bold]{role}[/] ({when}): {meta['model']} trained on "
            f"{', '.join(meta.get('train_datasets', []))}, threshold {meta['threshold']:.3f}; {path}",
            highlight=False,
        )


def train_cmd(
    model: Annotated[str, typer.Option(help="A name from `realorai models`.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Run folder.")],
    manifest: Annotated[list[Path] | None, typer.Option(help="Manifest with a split column (repeatable).")] = None,
    data: Annotated[
        list[Path] | None, typer.Option(help="Detectors: dataset folder to scan and split (repeatable).")
    ] = None,
    views: Annotated[int | None, typer.Option(help="Detectors: augmented crops per training image.")] = None,
    consistent_margin: Annotated[
        float | None,
        typer.Option(
            help="Frozen detectors: keep only features whose own ROC-AUC is beyond 0.5 +/- this, on the "
            "same side, in every training dataset (a feature that flips between sets is a shortcut)."
        ),
    ] = None,  # fmt: skip
    config: Annotated[Path | None, typer.Option(help="JSON or TOML file of training options.")] = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    optimizer: Optim | None = None,
    augment: Annotated[bool | None, typer.Option("--augment/--no-augment")] = None,
    aug_views: int | None = None,
    class_weighted: Annotated[bool | None, typer.Option("--class-weighted/--no-class-weighted")] = None,
    pretrained: Annotated[bool | None, typer.Option("--pretrained/--no-pretrained")] = None,
    seed: int | None = None,
    device: str | None = None,
    patience: int | None = None,
    precision: Annotated[str | None, typer.Option(help="fp32 | bf16 (bfloat16 autocast, faster on AMX CPUs).")] = None,
    resume: Annotated[bool, typer.Option(help="Continue the run in OUTPUT after an interruption.")] = False,
    quiet: Quiet = False,
) -> None:
    """Train a model; writes config, history, curves and best/last checkpoints to OUTPUT."""
    from realorai.models import get_spec
    from realorai.models.weights import WeightsUnavailableError

    bounds = (("--views", views, 32), ("--aug-views", aug_views, 32), ("--batch-size", batch_size, 4096))
    for flag, value, most in bounds:
        if value is not None and value > most:  # each multiplies work or memory
            fail(f"{flag} must be at most {most}, got {value}")
    try:
        if get_spec(model).kind == "detector":
            if consistent_margin is not None and not 0 <= consistent_margin < 0.5:
                fail(f"--consistent-margin must be in [0, 0.5), got {consistent_margin}")
            overrides = {"views": views, "seed": seed, "batch_size": batch_size, "epochs": epochs, "lr": lr,
                         "device": device, "precision": precision, "consistent_margin": consistent_margin}  # fmt: skip
            _train_detector(model, output, manifest or [], data or [], overrides, quiet, resume)
            return
        if not manifest or len(manifest) != 1 or data:
            fail(f"{model} trains on one --manifest with a split column (--data is for detector models)")
        from realorai.baselines.config import resolve_config
        from realorai.baselines.train import fit

        cfg = resolve_config(
            model,
            str(manifest[0]),
            config,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            optimizer=optimizer.value if optimizer else None,
            augment=augment,
            aug_views=aug_views,
            class_weighted=class_weighted,
            pretrained=pretrained,
            seed=seed,
            device=device,
            patience=patience,
            precision=precision,
        )
        summary = fit(cfg, output, resume=resume, show_progress=not quiet)
    except (KeyError, ValueError, FileNotFoundError, WeightsUnavailableError) as e:
        fail(str(e).strip("'\""))
    if summary.get("rank"):  # under torchrun, rank 0 reports
        return
    val = summary["val"]
    out.print(
        f"best epoch {summary['best_epoch']}/{summary['epochs_run']}; threshold {summary['threshold']:.3f} "
        f"({summary['threshold_source']}); val accuracy {val.get('accuracy', float('nan')):.3f}; wrote {output}"
    )


def _train_detector(model, output, manifests, data, overrides: dict, quiet: bool, resume: bool) -> None:
    from realorai.detector.fit import DetectorConfig, fit_detector

    cfg = DetectorConfig(
        model=model,
        data=tuple(str(d) for d in data),
        manifests=tuple(str(m) for m in manifests),
        **{k: v for k, v in overrides.items() if v is not None},
    )
    s = fit_detector(cfg, output, show_progress=not quiet, log=out.print, resume=resume)
    if s.get("rank"):  # under torchrun, rank 0 reports
        return
    val = s["val"]
    head = f"C={s['C']:g}, " if s.get("C") is not None else ""
    out.print(
        f"{model}: {head}temperature {s['temperature']:.3f}, threshold {s['threshold']:.3f} "
        f"({s['threshold_source']}); validation ROC-AUC {val.get('roc_auc', float('nan')):.3f}, "
        f"ECE {val.get('ece', float('nan')):.3f}; {s['train_seconds']:.0f} s; wrote {output}"
    )
    for name, m in s["test"].items():
        out.print(
            f"  test {name}: {m['n']} images, ROC-AUC {m['roc_auc']:.3f}, accuracy real {m['accuracy_real']:.3f} "
            f"AI {m['accuracy_ai']:.3f}, ECE {m['ece']:.3f}"
        )
