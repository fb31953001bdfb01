"""realorai: tell AI-generated images from real photographs and artwork."""

__version__ = "0.1.0"

# Class order is fixed across the whole project: index 1 is "ai", so P(AI) = softmax[:, 1].
CLASSES: tuple[str, str] = ("real", "ai")
