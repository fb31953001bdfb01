"""Every number a checkpoint carries, checked on load: a crafted or broken file is refused naming
the file and the field, never used to make verdicts.

A checkpoint's metadata is JSON that anyone can edit; its tier bounds, calibration and head
decide what every row says. So each field that reaches a verdict is checked for its type, for
being finite, and for its range (P(AI) bounds in [0, 1], the "likely real" bound at or below the
"likely AI" bound, a positive temperature, head arrays of one shape), before anything is scored.
"""

from __future__ import annotations

import math
from pathlib import Path

INTERPOLATIONS = ("bilinear", "bicubic")
RESIZES = ("squash", "center_crop", "crops")


class MetaError(ValueError):
    """A checkpoint field that is missing, of the wrong type or out of range."""

    def __init__(self, path: str | Path, field: str, problem: str) -> None:
        super().__init__(f"{path}: field {field!r} {problem}: a broken or crafted checkpoint, refused")
        self.field = field


def _number(path, field: str, v, lo: float | None = None, hi: float | None = None, positive: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise MetaError(path, field, f"must be a number, not {type(v).__name__} {str(v)[:40]!r}")
    if not math.isfinite(v):
        raise MetaError(path, field, f"must be finite, not {v}")
    if positive and v <= 0:
        raise MetaError(path, field, f"must be above 0, not {v}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise MetaError(path, field, f"must lie in [{lo}, {hi}], not {v}")
    return float(v)


def _optional(path, field: str, v, lo=None, hi=None) -> float | None:
    return None if v is None else _number(path, field, v, lo, hi)


def _dict(path, field: str, v) -> dict:
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise MetaError(path, field, f"must be an object, not {type(v).__name__}")
    return v


def check_tiers(path, t: dict, field: str = "reliability.tiers") -> None:
    """Tier bounds P(AI) in [0, 1], the real bound at or below the AI bound, shares in [0, 1]."""
    t = _dict(path, field, t)
    ai = _optional(path, f"{field}.likely_ai_from", t.get("likely_ai_from"), 0.0, 1.0)
    real = _optional(path, f"{field}.likely_real_below", t.get("likely_real_below"), 0.0, 1.0)
    if ai is not None and real is not None and real > ai:
        raise MetaError(path, f"{field}.likely_real_below", f"({real}) must not exceed likely_ai_from ({ai})")
    for k in ("right_ai", "right_real", "best_ai", "best_real"):
        _optional(path, f"{field}.{k}", t.get(k), 0.0, 1.0)
    for k in ("inconclusive", "target"):
        if k in t:
            _number(path, f"{field}.{k}", t[k], 0.0, 1.0)
    for k in ("n_ai", "n_real"):
        if k in t and (isinstance(t[k], bool) or not isinstance(t[k], int) or t[k] < 0):
            raise MetaError(path, f"{field}.{k}", f"must be a count, not {str(t[k])[:40]!r}")
    for k in ("how", "scope"):
        if k in t and not isinstance(t[k], str):
            raise MetaError(path, f"{field}.{k}", "must be text")
    if "available" in t and not isinstance(t["available"], bool):
        raise MetaError(path, f"{field}.available", "must be true or false")
    _dict(path, f"{field}.per_source", t.get("per_source"))


def _platt(path, field: str, p) -> None:
    p = _dict(path, field, p)
    for k in ("a", "b"):
        if k in p:
            _number(path, f"{field}.{k}", p[k])


def check_data_config(path, d) -> None:
    d = _dict(path, "data_config", d)
    if not d:
        return
    size = d.get("input_size")
    if isinstance(size, bool) or not isinstance(size, int) or not 8 <= size <= 4096:
        raise MetaError(path, "data_config.input_size", f"must be a whole number of pixels in [8, 4096], not {size!r}")
    for k in ("mean", "std"):
        v = d.get(k)
        if not isinstance(v, (list, tuple)) or len(v) != 3:
            raise MetaError(path, f"data_config.{k}", "must be three numbers")
        for i, x in enumerate(v):
            _number(path, f"data_config.{k}[{i}]", x, positive=k == "std")
    if d.get("interpolation", "bilinear") not in INTERPOLATIONS:
        raise MetaError(path, "data_config.interpolation", f"must be one of {', '.join(INTERPOLATIONS)}")
    if d.get("resize", "squash") not in RESIZES:
        raise MetaError(path, "data_config.resize", f"must be one of {', '.join(RESIZES)}")
    _number(path, "data_config.crop_pct", d.get("crop_pct", 1.0), 0.05, 1.0)
    grid = d.get("crop_grid", 1)
    if isinstance(grid, bool) or not isinstance(grid, int) or not 1 <= grid <= 8:
        raise MetaError(path, "data_config.crop_grid", f"must be a whole number in [1, 8], not {grid!r}")


def check_meta(path: str | Path, meta) -> dict:
    """``meta`` when every field that reaches a verdict is sound, else :class:`MetaError`."""
    if not isinstance(meta, dict):
        raise MetaError(path, "realorai", "must be a JSON object")
    if not isinstance(meta.get("model", ""), str):
        raise MetaError(path, "model", "must be a model name")
    if "threshold" in meta:
        _number(path, "threshold", meta["threshold"], 0.0, 1.0)
    if meta.get("temperature") is not None:
        _number(path, "temperature", meta["temperature"], positive=True)
    check_data_config(path, meta.get("data_config"))
    rel = _dict(path, "reliability", meta.get("reliability"))
    check_tiers(path, rel.get("tiers"))
    _platt(path, "reliability.platt", rel.get("platt"))
    if "adapted" in meta:
        info = _dict(path, "adapted", meta["adapted"])
        _number(path, "adapted.b", info.get("b"))
        platt = _dict(path, "adapted.platt", info.get("platt"))
        for k in ("a", "b"):
            _number(path, f"adapted.platt.{k}", platt.get(k))
        source = _dict(path, "adapted.base", info.get("base")).get("source")
        if not isinstance(source, str) or not source:
            raise MetaError(path, "adapted.base.source", "must name the base detector ('shipped' or a path)")
    return meta


def check_head(path: str | Path, arrays: dict) -> None:
    """An adapted head's arrays: mu, sigma and w, one-dimensional, one length, finite, sigma > 0."""
    import numpy as np

    missing = [k for k in ("mu", "sigma", "w") if k not in arrays]
    if missing:
        raise MetaError(path, missing[0], "is missing from the head's arrays")
    shapes = {k: tuple(np.shape(arrays[k])) for k in ("mu", "sigma", "w")}
    if any(len(s) != 1 for s in shapes.values()) or len(set(shapes.values())) != 1 or not shapes["w"][0]:
        raise MetaError(path, "w", f"and mu, sigma must be vectors of one length, not {shapes}")
    for k, v in arrays.items():
        if not np.isfinite(v).all():
            raise MetaError(path, k, "holds NaN or infinite values")
    if (arrays["sigma"] <= 0).any():
        raise MetaError(path, "sigma", "must be above 0")
