"""Feature extractors by name (as timm resolves a model and its preprocessing): what an adapted
head reads. ``create_extractor(name)``, ``list_extractors()``; ``clip-b16`` and its variants read
CLIP ViT-B/16's intermediate blocks on native-resolution crops (``clip``, weights: ``weights``);
``hf:REPO@BLOCKS`` and ``open_clip:MODEL/TAG@BLOCKS`` other towers through their libraries (``towers``)."""

from realorai.features import clip as _clip  # noqa: F401  (registers the CLIP extractors)
from realorai.features import towers as _towers  # noqa: F401  (transformers and open_clip towers)
from realorai.features.registry import ExtractorUnavailable, create_extractor, describe, is_known, list_extractors

__all__ = ["ExtractorUnavailable", "create_extractor", "describe", "is_known", "list_extractors"]
