"""The registry of feature extractors.

An extractor is model-like, so the scoring and adaptation code need nothing new: ``data_config``
(its crops: size, grid, normalisation), ``num_features``, ``crop_features(uint8 crops (N, 3, S, S))
-> (N, F)``, and ``describe()``: what a checkpoint records to rebuild the very same features (the
extractor's name, its weights' sha256, its preprocessing). ``early`` is the shipped detector's
own statistics (its base model), resolved by ``inference.adapt``, not here.
"""

from __future__ import annotations

from collections.abc import Callable

_REGISTRY: dict[str, tuple[Callable[..., object], str]] = {}


class ExtractorUnavailable(RuntimeError):
    """The extractor is known but cannot be built here (its extra or its weights are missing)."""


def register(name: str, summary: str):
    def wrap(factory):
        _REGISTRY[name] = (factory, summary)
        return factory

    return wrap


def list_extractors() -> dict[str, str]:
    """{name: one line}: every extractor this realorai knows, ``early`` included (the package's
    ``__init__`` imports the modules that register the others)."""
    return {"early": "the base detector's 160 early statistics of native crops (the shipped default)"} | {
        name: summary for name, (_, summary) in sorted(_REGISTRY.items())
    }


def create_extractor(name: str, **kwargs):
    """The extractor ``name`` (not ``early``: that is the base detector itself)."""
    if name not in _REGISTRY:
        known = ", ".join(list_extractors())
        raise ValueError(f"unknown feature extractor {name!r}: choose one of {known}")
    return _REGISTRY[name][0](**kwargs)


def describe(extractor) -> dict:
    return extractor.describe()
