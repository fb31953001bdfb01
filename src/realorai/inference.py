"""Scoring images with a loaded model, in bounded chunks: one image or a million."""

from __future__ import annotations

import glob
from pathlib import Path

import numpy as np
import torch

from realorai.imaging import IMAGE_EXTENSIONS, walk_files
from realorai.preprocess import load_tensors, normalize
from realorai.progress import progress_bar

CHUNK = 256  # images decoded at a time: bounds memory whatever the number of inputs


@torch.no_grad()
def score_tensors(model, x: torch.Tensor, batch_size: int = 32) -> np.ndarray:
    """P(AI) for uint8 images already preprocessed for ``model``."""
    model.eval()
    device = next(model.parameters()).device
    # The precision the model was trained and thresholded at (bf16 scores differ by ~0.002):
    # a threshold chosen on bf16 validation scores is applied to bf16 scores.
    bf16 = getattr(model, "realorai_precision", "fp32") == "bf16"
    out = []
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
        for xb in x.split(batch_size):
            out.append(model(normalize(xb.to(device), model.data_config)).float().softmax(1)[:, 1].cpu())
    return torch.cat(out).numpy() if out else np.zeros(0)


def score_paths(model, paths: list[str], batch_size: int = 32, show_progress: bool = True, details: bool = False):
    """P(AI) per path (NaN where the image could not be read) and {path: reason} for those.

    Detectors (``resize == "crops"``) score several native-resolution crops per image; with
    ``details`` the result is (P(AI), low-confidence flags, per-crop P(AI), errors) for any model.
    """
    if model.data_config.resize == "crops":
        from realorai.detector.score import score_crops

        probs, low, crops, errors = score_crops(model, paths, min(batch_size, 16), None, show_progress)
        return (probs, low, crops, errors) if details else (probs, errors)
    probs = np.full(len(paths), np.nan)
    errors: dict[str, str] = {}
    with progress_bar("score", len(paths), show_progress) as advance:
        for start in range(0, len(paths), CHUNK):
            chunk = paths[start : start + CHUNK]
            x, index, errs = load_tensors(chunk, model.data_config, show_progress=False)
            errors.update(errs)
            if index:
                probs[np.asarray(index) + start] = score_tensors(model, x, batch_size)
            advance(len(chunk))
    if details:
        return probs, np.zeros(len(paths), bool), [np.asarray([p]) for p in probs], errors
    return probs, errors


def expand_inputs(inputs: list[str]) -> tuple[list[str], dict[str, str]]:
    """Files, folders (recursively, image extensions only) and glob patterns -> file paths.

    Inputs that match nothing come back as errors rather than stopping the others.
    """
    files: list[str] = []
    errors: dict[str, str] = {}
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            files += [str(f) for f in walk_files(p) if f.suffix.lower() in IMAGE_EXTENSIONS]
        elif p.is_file():
            files.append(str(p))
        else:
            matches = sorted(m for m in glob.glob(item, recursive=True) if Path(m).is_file())
            if matches:
                files += matches
            else:
                errors[item] = "no such file, folder or matching pattern"
    return list(dict.fromkeys(files)), errors
