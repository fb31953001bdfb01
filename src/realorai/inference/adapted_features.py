"""The extractor an adapted head was fitted on, rebuilt from the run's metadata and checked
field by field (``Detector.from_adapted``): a field changed by hand is refused naming it."""

from __future__ import annotations

import json

DESCRIPTIVE = {"weights", "export"}  # words about where the weights came from; the sha256 is what is checked


def rebuilt_extractor(path, feats: dict):
    """The extractor an adapted head was fitted on, rebuilt and checked: same name, same weights."""
    from realorai.features import ExtractorUnavailable, create_extractor

    try:
        extractor = create_extractor(str(feats["name"]))
    except ExtractorUnavailable as e:
        raise ValueError(f"{path}: adapted on {feats['name']} features, which cannot be built here: {e}") from e
    if feats.get("weights_sha256") and extractor.weights_sha256 != feats["weights_sha256"]:
        raise ValueError(f"{path}: adapted on {feats['name']} weights {feats['weights_sha256'][:16]}..., but the "
                         f"weights here are {extractor.weights_sha256[:16]}...: not the same features")  # fmt: skip
    if getattr(extractor, "num_features", None) != feats.get("num_features"):
        raise ValueError(f"{path}: {feats['name']} gives {extractor.num_features} features here, the head reads "
                         f"{feats.get('num_features')}")  # fmt: skip
    # Every field that selects the features (blocks, tokens, crops, preprocessing) must be what the
    # head was fitted on: a name changed to another block set of the same width would load silently.
    for key, value in json.loads(json.dumps(extractor.describe())).items():  # as the metadata holds it
        if key in DESCRIPTIVE:
            continue
        if key not in feats:
            raise ValueError(f"{path}: its metadata's features.{key} is missing: the head was fitted on features of "
                             "another definition (an older realorai?); adapt it again")  # fmt: skip
        if feats[key] != value:
            raise ValueError(f"{path}: its metadata's features.{key} is {str(feats[key])[:80]!r}, but "
                             f"{feats['name']} gives {str(value)[:80]!r}: not the features the head was "
                             "fitted on")  # fmt: skip
    return extractor
