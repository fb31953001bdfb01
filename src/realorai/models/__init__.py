"""Model registry: ``create_model(name, num_classes, pretrained)`` and ``list_models()``.

Importing this package registers every model (``zoo.py``) without importing torch: a family's
code is imported when one of its models is built.
"""

from realorai.models import zoo  # noqa: F401  (register the models)
from realorai.models.registry import (
    DataConfig,
    ModelSpec,
    count_params,
    create_model,
    get_spec,
    list_models,
    normalize,
    register_model,
)

__all__ = [
    "DataConfig",
    "ModelSpec",
    "count_params",
    "create_model",
    "get_spec",
    "list_models",
    "normalize",
    "register_model",
]
