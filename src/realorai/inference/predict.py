"""What ``realorai predict`` and ``inspect`` run: find the inputs, load the model, ``analyze``."""

from __future__ import annotations

from pathlib import Path

from realorai.inference.analyze import analyze
from realorai.inference.detector import Detector
from realorai.inference.inputs import Found, find_inputs, own_outputs
from realorai.inference.rows import error_row
from realorai.provenance import TrustSpec


def predict(
    inputs: list[str],
    model_path: str | Path | None = None,
    batch_size: int = 32,
    device: str = "auto",
    show_progress: bool = True,
    provenance: bool = True,
    c2pa_trust: TrustSpec = None,
    allow_network: bool = False,
    heatmaps: Path | None = None,
    backend: str = "auto",
    bank=None,
    stream: str | None = None,
) -> tuple[list[dict], Found]:
    """Score every file found in ``inputs`` with ``model_path`` (the shipped detector when None):
    (rows, what was found); unreadable ones get an error row, never an exception."""
    from realorai.device import device_name

    found = find_inputs(inputs, own_outputs(heatmaps))
    if stream is not None:  # a stream's newest version scores the pixels (realorai.learn)
        from realorai.inference.detector import stream_detector

        detector = stream_detector(bank, stream)
    else:
        detector = Detector.load(model_path, device_name(device), backend)
    rows = analyze(
        detector,
        found.files,
        batch_size,
        show_progress,
        provenance,
        c2pa_trust,
        allow_network,
        heatmaps if heatmaps is not None else False,
        bank,
    )
    rows += [error_row(item, reason, detector.tiers) for item, reason in found.missing.items()]
    return rows, found
