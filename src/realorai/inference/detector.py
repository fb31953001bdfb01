"""``Detector``: one object that takes a path or many and returns labelled, calibrated scores.

from realorai import Detector
det = Detector.default()            # detector-clip-b16, or detector-lite0-early where CLIP can't be had
det.predict("photo.jpg")            # one row: {"verdict", "basis", "tier", "p_ai", "findings", "why", ...}
det.predict(["a.jpg", "folder/"])   # one row per image found (inference.rows documents every key)

It loads either family (``ModelSpec.kind``: the report's classifiers, or detectors) on either
backend (torch, or ONNX Runtime for detectors on the CPU) and scores through the family's own
code; every front end scores through it.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from realorai.imaging import Source
from realorai.inference.default import default_onnx, default_weights
from realorai.inference.inputs import as_input_list, expand_inputs, in_memory, is_in_memory
from realorai.inference.rows import error_row, make_row
from realorai.models import get_spec
from realorai.models.checkpoint import ADAPTED_FORMAT, checkpoint_format, read_meta, resolve_checkpoint
from realorai.tiers import Tiers

BACKENDS = ("auto", "torch", "onnx")
FOUNDATION = "realorai.detector.foundation:build"  # heads on a foundation model's features (detector-clip-b16)


@dataclass(frozen=True)
class Scores:
    """What ``Detector.score`` returns for either family, one entry per input."""

    p_ai: np.ndarray  # NaN where the image could not be read
    low_confidence: np.ndarray  # upsampled: smaller than the detector's crop
    per_crop: list[np.ndarray]  # each crop's P(AI) (one value for a classifier)
    errors: dict  # {input: reason}
    extras: list | None = None  # what the ``inspect`` hook returned per input (detectors only)


def _onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def is_safetensors(path: Path) -> bool:
    """Judged by content, not by name: 8 bytes of header length, then the JSON header."""
    with open(path, "rb") as f:
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b"{"


class Detector:
    """A loaded model and its decision threshold; ``predict`` gives the rows every front end shows."""

    def __init__(self, model, meta: dict, source: str = "", backend: str = "torch", kind: str = "detector") -> None:
        self.model, self.meta, self.source, self.backend, self.kind = model, meta, source, backend, kind
        self.threshold = float(meta.get("threshold", 0.5))  # metrics only: verdicts come from the tiers
        self.tiers = Tiers.from_meta(meta)
        self.name = meta.get("model", "")
        self.note = ""  # why this detector scores instead of the one asked for (inference.default)

    def __repr__(self) -> str:
        t = self.tiers
        if t.likely_ai_from is None and t.likely_real_below is None:
            tiers = "no 'likely' tiers: pixel-only verdicts are inconclusive"
        else:
            lo = "none" if t.likely_real_below is None else f"< {t.likely_real_below:.3f}"
            hi = "none" if t.likely_ai_from is None else f">= {t.likely_ai_from:.3f}"
            tiers = f"likely real {lo}, likely AI {hi}"
        note = f"; {self.note}" if self.note else ""
        return f"Detector({self.name!r}, {self.backend}, from {self.source}; {tiers}{note})"

    @classmethod
    def default(cls, device: str = "cpu", backend: str = "auto") -> Detector:
        """detector-clip-b16, its tower fetched on first use; detector-lite0-early where it can't be
        had, with ``note`` saying why (inference.default)."""
        return cls.load(None, device, backend)

    @classmethod
    def shipped(cls, device: str = "cpu", backend: str = "auto") -> Detector:
        """detector-lite0-early, packaged whole: what `adapt` and streams' ``early`` features read."""
        return cls.load(default_weights(), device, backend)

    @classmethod
    def from_checkpoint(cls, path: str | Path, device="cpu") -> Detector:
        """A checkpoint on the torch backend."""
        from realorai.models.checkpoint import load_checkpoint

        model, meta = load_checkpoint(path, device)
        return cls(model, meta, str(path), "torch", get_spec(meta["model"]).kind)

    @classmethod
    def from_onnx(cls, path: str | Path) -> Detector:
        """A file written by ``realorai export onnx``: runs on ONNX Runtime, without torch."""
        from realorai.detector.onnx import OnnxCropModel

        model = OnnxCropModel(path)
        c = model.contract
        meta = {"model": c["model"], "threshold": c["threshold"], **c.get("meta", {})}
        return cls(model, meta, str(path), "onnx", "detector")

    @classmethod
    def from_adapted(cls, path: str | Path, device="cpu", backend: str = "auto") -> Detector:
        """A head written by ``realorai adapt``, on the frozen detector it was adapted from."""
        from realorai.detector.adapt import AdaptedCropModel, LinearHead
        from realorai.models.checkpoint import load_adapted

        arrays, meta = load_adapted(path)
        info = meta["adapted"]
        feats = info.get("features") or {"name": "early"}
        if not isinstance(feats, dict) or not isinstance(feats.get("name"), str):
            raise ValueError(f"{path}: its metadata's adapted.features names no extractor (features.name is missing "
                             "or not text): the features its head reads are unknown")  # fmt: skip
        if feats["name"] != "early":  # a head on a foundation model's features: rebuild those
            from realorai.inference.adapted_features import rebuilt_extractor

            extractor = rebuilt_extractor(path, feats)
            head = LinearHead(arrays["mu"], arrays["sigma"], arrays["w"], info["b"])
            model = AdaptedCropModel(extractor, head, info["platt"]["a"], info["platt"]["b"])
            return cls(model, meta, str(path), getattr(extractor, "backend", "onnx"), "detector")
        base_path = default_weights() if info["base"]["source"] == "shipped" else info["base"]["source"]
        if not Path(base_path).exists():
            raise FileNotFoundError(f"{path}: adapted on {base_path}, which is not here")
        base = cls.load(base_path, device, backend)
        size = getattr(base.model, "num_features", 0)
        if base.name != meta["model"] or size != len(arrays["w"]):
            raise ValueError(
                f"{path}: adapted on {meta['model']} features ({len(arrays['w'])}); the base here is {base.name} "
                f"({size or 'no'} features)"
            )
        head = LinearHead(arrays["mu"], arrays["sigma"], arrays["w"], info["b"])
        model = AdaptedCropModel(base.model, head, info["platt"]["a"], info["platt"]["b"])
        return cls(model, meta, str(path), base.backend, "detector")

    @classmethod
    def load(cls, path: str | Path | None, device="cpu", backend: str = "auto") -> Detector:
        """``path`` (run folder, checkpoint or exported ONNX file), or the shipped default when
        None, on ``backend``: torch, onnx (ONNX Runtime, CPU), or auto (onnx for a detector on
        the CPU). The ONNX graph of a checkpoint is shipped or cached, never rebuilt per load."""
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}: {' | '.join(BACKENDS)}")
        if path is None:
            from realorai.inference.default import load_default

            return load_default(cls.load, device, backend)
        checkpoint = resolve_checkpoint(path)
        if is_safetensors(checkpoint) and checkpoint_format(checkpoint) == ADAPTED_FORMAT:
            return cls.from_adapted(checkpoint, device, backend)
        if not is_safetensors(checkpoint):
            if backend == "torch":
                raise ValueError(f"{path}: an ONNX file runs on the onnx backend only")
            return cls.from_onnx(checkpoint)
        meta = read_meta(checkpoint)
        try:
            spec = get_spec(meta["model"])
        except KeyError as e:
            name = meta.get("model")
            raise ValueError(f"{checkpoint}: names model {name!r}, which this realorai does not know") from e
        kind = spec.kind
        if spec.builder == FOUNDATION and backend != "torch":  # the tower is ONNX already; the head, numpy
            from realorai.detector import foundation_numpy

            model = foundation_numpy.load(checkpoint, spec.builder_kwargs["extractor"])
            return cls(model, meta, str(checkpoint), "onnx", kind)
        if _use_onnx(backend, kind, meta, str(device)):
            from realorai.inference.onnx_cache import onnx_model_for

            shipped = default_onnx() if Path(checkpoint).resolve() == default_weights().resolve() else None
            return cls(onnx_model_for(checkpoint, shipped), meta, str(checkpoint), "onnx", kind)
        return cls.from_checkpoint(checkpoint, device)

    def score(
        self, paths: list[Source], batch_size: int = 16, show_progress: bool = False, transform=None, inspect=None
    ) -> Scores:
        """Scores of every input; ``transform`` (detectors only) changes each decoded image first;
        ``inspect(source, opened, rgb)`` (detectors only) reads each decode for other checks."""
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if self.kind == "detector":
            from realorai.detector.score import score_crops

            batch = min(batch_size, 16)
            return Scores(*score_crops(self.model, paths, batch, None, show_progress, transform, inspect))
        if transform is not None:
            raise ValueError(f"{self.name}: perturbations are measured for detectors only")
        from realorai.baselines.score import score_paths

        probs, errors = score_paths(self.model, paths, batch_size, show_progress)
        return Scores(probs, np.zeros(len(paths), bool), [np.asarray([p]) for p in probs], errors)

    def rows(self, paths: list[Source], batch_size: int = 16, show_progress: bool = False) -> list[dict]:
        return self.to_rows(paths, self.score(paths, batch_size, show_progress))

    def to_rows(self, paths: list[Source], s: Scores) -> list[dict]:
        """Pixel-only rows (no provenance read: ``findings`` None); ``inference.analyze`` adds it."""
        out = []
        for i, path in enumerate(paths):
            p = None if not np.isfinite(s.p_ai[i]) else float(s.p_ai[i])
            error = s.errors.get(path, "")
            if p is None and not error:  # a row without a score is never a silent success
                error = "the model gave no finite P(AI) for this image (a broken model?)"
            # An upload's row carries its file name.
            out.append(make_row(str(path), p, self.tiers, bool(s.low_confidence[i]), error))
        return out

    def predict(
        self, inputs, batch_size: int = 16, pixels_only: bool = False, c2pa_trust=None, bank=None, stream=None
    ) -> dict | list[dict]:
        """Rows from all the evidence (provenance, then the pixel tiers; ``pixels_only`` skips
        provenance). ``inputs``: a path (file, folder, pattern), bytes, a binary stream, a PIL
        image or a uint8 array, or a list or tuple of them. One row for one file, one in-memory
        image or a path that names none; else a list of rows (what was scored in input order, then
        the inputs that gave no image). A PIL image or
        array carries no file metadata or credential: its row says so. ``bank``: a bank (or its
        file) whose pictures each image is matched against. ``stream``: a stream of that bank whose
        newest version scores the pixels instead of this detector (``realorai.learn``)."""
        from realorai.inference.analyze import analyze
        from realorai.provenance import resolve

        if stream is not None:
            return stream_detector(bank, stream).predict(inputs, batch_size, pixels_only, c2pa_trust, bank)

        items = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        single = not isinstance(inputs, (list, tuple)) and _names_one(inputs)
        sources, missing = _sources(items)
        trust = None if pixels_only else resolve(c2pa_trust)
        rows = analyze(self, sources, batch_size, provenance=not pixels_only, c2pa_trust=trust, bank=bank)
        rows += [error_row(p, r, self.tiers) for p, r in missing.items()]
        return rows[0] if single else rows


def stream_detector(bank, stream: str) -> Detector:
    """The detector of a bank's stream (its newest version, suspended tiers taken away)."""
    from realorai.bank import Bank
    from realorai.inference.streams import stream_detector as of_stream

    if bank is None:
        raise ValueError(f"stream {stream!r}: streams live in a bank: give bank=FILE (--bank, REALORAI_BANK)")
    return of_stream(bank if isinstance(bank, Bank) else Bank(bank), stream, Detector)


def _names_one(item) -> bool:
    """Whether one input gives one row: an in-memory image, a file, or a path naming nothing."""
    if is_in_memory(item):
        return True
    path = os.fspath(item) if isinstance(item, (str, os.PathLike)) and not isinstance(item, bytes) else None
    if path is None or os.path.isdir(path):
        return False
    return os.path.isfile(path) or not glob.has_magic(path)


def _sources(items: list) -> tuple[list[Source], dict[str, str]]:
    """(what to score, in input order: files found and in-memory images; {input: why none})."""
    sources: list[Source] = []
    missing: dict[str, str] = {}
    seen: set[str] = set()
    for i, item in enumerate(items):
        if is_in_memory(item):
            upload, why = in_memory(item, i)
            if upload is None:
                missing[f"<image {i}>"] = why
            else:
                sources.append(upload)
            continue
        files, gone = expand_inputs(as_input_list(item))
        sources += [f for f in files if f not in seen]
        seen.update(files)
        missing.update(gone)
    return sources, missing


def _use_onnx(backend: str, kind: str, meta: dict, device: str) -> bool:
    if backend == "torch" or not get_spec(meta["model"]).onnx_export:
        return False
    fp32 = (meta.get("config") or {}).get("precision", "fp32") == "fp32"
    if backend == "auto":
        # On the CPU, ONNX Runtime scores the detector's crops about 2.3x faster than torch
        # eager (benchmarks/throughput.py); on a GPU, and for the report's models, torch.
        return kind == "detector" and fp32 and device == "cpu" and _onnxruntime_available()
    if kind != "detector":
        raise ValueError(f"{meta.get('model')}: the onnx backend runs detectors (detector-*), not the report's models")
    if device != "cpu":
        raise ValueError("the onnx backend runs on the CPU; use --backend torch with a GPU")
    return True
