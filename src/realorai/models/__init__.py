"""Model registry: ``create_model(name, num_classes, pretrained)`` and ``list_models()``."""

from realorai.models import detector, report_cnn, transfer  # noqa: F401  (register the models)
from realorai.models.registry import (
    DataConfig,
    ModelSpec,
    count_params,
    create_model,
    get_spec,
    list_models,
    resolve_data_config,
)

__all__ = ["DataConfig", "ModelSpec", "count_params", "create_model", "get_spec", "list_models", "resolve_data_config"]
