"""Models: scikit-learn feature baselines and the deep video model registry (``create_model``)."""

from aura.models.baselines import (
    BASELINES,
    FittedBaseline,
    build_baseline,
    fit_baseline,
    join_features,
)
from aura.models.registry import (
    UnknownSettingError,
    VideoClassifier,
    create_model,
    list_models,
    model_defaults,
    register_model,
)
from aura.models.weights import (
    PretrainedWeightsWarning,
    WeightsNotFoundError,
    describe_pretrained,
    parse_pretrained,
)

__all__ = [
    "BASELINES",
    "FittedBaseline",
    "PretrainedWeightsWarning",
    "UnknownSettingError",
    "VideoClassifier",
    "WeightsNotFoundError",
    "build_baseline",
    "create_model",
    "describe_pretrained",
    "fit_baseline",
    "join_features",
    "list_models",
    "model_defaults",
    "parse_pretrained",
    "register_model",
]
