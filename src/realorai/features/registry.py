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
# Families: names with a prefix whose rest says what to build ("hf:REPO@BLOCKS"), so that the name
# a checkpoint records rebuilds the extractor with nothing else.
_FAMILIES: dict[str, tuple[Callable[[str, str], object], str]] = {}


class ExtractorUnavailable(RuntimeError):
    """The extractor is known but cannot be built here (its extra or its weights are missing)."""


def register(name: str, summary: str):
    def wrap(factory):
        _REGISTRY[name] = (factory, summary)
        return factory

    return wrap


def register_family(prefix: str, pattern: str, summary: str):
    """``factory(name, rest)`` builds ``prefix:rest``; ``pattern`` shows the form (``hf:REPO[@BLOCKS]``)."""

    def wrap(factory):
        _FAMILIES[prefix] = (factory, f"{pattern}|{summary}")
        return factory

    return wrap


def list_extractors() -> dict[str, str]:
    """{name: one line}: every extractor this realorai knows, ``early`` included, then the
    families' forms (the package's ``__init__`` imports the modules that register them)."""
    families = {pattern: summary for pattern, summary in (s.split("|", 1) for _, s in _FAMILIES.values())}
    return (
        {"early": "the base detector's 160 early statistics of native crops (the shipped default)"}
        | {name: summary for name, (_, summary) in sorted(_REGISTRY.items())}
        | families
    )


def is_known(name: str) -> bool:
    """``name`` is ``early``, a registered extractor or a family's form (``hf:...``): worth trying to build."""
    prefix, sep, rest = name.partition(":")
    return name == "early" or name in _REGISTRY or bool(sep and prefix in _FAMILIES and rest)


def create_extractor(name: str, **kwargs):
    """The extractor ``name`` (not ``early``: that is the base detector itself)."""
    if name in _REGISTRY:
        return _REGISTRY[name][0](**kwargs)
    prefix, sep, rest = name.partition(":")
    if sep and prefix in _FAMILIES and rest:
        return _FAMILIES[prefix][0](name, rest, **kwargs)
    known = ", ".join(list_extractors())
    raise ValueError(f"unknown feature extractor {name!r}: choose one of {known}")


def describe(extractor) -> dict:
    return extractor.describe()
