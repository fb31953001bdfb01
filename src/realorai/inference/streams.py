"""A stream's detector: its newest version (an adapted head kept in the bank's file), with every
tier the drift guard suspended taken away. Here, in the layer that loads models, so that
``Detector.predict(stream=...)``, the CLI and the server load streams the same way; the class is
passed in (``cls``), so this module never imports the detector module back."""

from __future__ import annotations

import copy
import dataclasses
import tempfile
from pathlib import Path

from realorai.bank import Bank
from realorai.learn import guard, store

_detectors: dict[tuple[str, str, int], object] = {}


def version_detector(bank: Bank, stream: str, cls):
    """The stream's newest version as a ``cls`` (a Detector), cached per version; None before its
    first fit. One indexed read per call says whether a newer version exists."""
    number = store.latest_number(bank, stream)
    if not number:
        return None
    key = (bank.key, stream, number)
    if key not in _detectors:
        version, head, _ = store.latest(bank, stream)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "adapted.safetensors"
            path.write_bytes(head)
            det = cls.from_adapted(path)
        det.source = f"stream {stream}, version {version} (in {bank.name})"
        _detectors[key] = det
    return _detectors[key]


def stream_detector(bank: Bank, stream: str, cls):
    """The detector that scores a stream's images: its newest version, every tier the guard
    suspended taken away (its verdicts then read ``inconclusive``, and ``why`` says so)."""
    det = version_detector(bank, stream, cls)
    if det is None:
        info = store.get(bank, stream)
        raise ValueError(f"stream {stream!r} has no fitted version yet: confirm at least {info['min_per_class']} "
                         f"examples of each class, then `realorai learn fit --stream {stream}`")  # fmt: skip
    suspended = [r for r in guard.records(bank, stream, det.meta["stream"]["version"]).values() if r.suspended]
    if not suspended:
        return det
    out = copy.copy(det)
    changes = {"likely_ai_from" if r.tier == "likely_ai" else "likely_real_below": None for r in suspended}
    out.tiers = dataclasses.replace(det.tiers, **changes, suspended="; ".join(r.why() for r in suspended))
    return out
