"""A stream's features: its extractor built once per process, and one image's features."""

from __future__ import annotations

import numpy as np

_extractors: dict[str, object] = {}


def extractor(name: str):
    """The feature extractor of a stream, built once per process (``early``: the shipped detector's)."""
    if name not in _extractors:
        if name == "early":
            from realorai.inference.detector import Detector

            _extractors[name] = Detector.shipped().model
        else:
            from realorai.inference.adapt import extractor_for

            _extractors[name] = extractor_for(name)
    return _extractors[name]


def features(name: str, src) -> np.ndarray:
    """One image's features (its clean crops, averaged) by the stream's extractor."""
    from realorai.detector.score import image_features
    from realorai.imaging import ImageLoadError

    x, _, errors = image_features(extractor(name), [src])
    if errors or not np.isfinite(x).all():
        raise ImageLoadError(str(src), next(iter(errors.values()), "no features could be computed"))
    return x[0]
