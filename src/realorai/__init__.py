"""realorai: tell AI-generated images from real photographs and artwork."""

__version__ = "0.1.0"

# Class order is fixed across the whole project: index 1 is "ai", so P(AI) = softmax[:, 1].
CLASSES: tuple[str, str] = ("real", "ai")


def __getattr__(name: str):
    # `from realorai import Detector` without importing torch for every `import realorai`.
    if name == "Detector":
        from realorai.inference.detector import Detector

        return Detector
    raise AttributeError(f"module 'realorai' has no attribute {name!r}")


__all__ = ["CLASSES", "Detector", "__version__"]
