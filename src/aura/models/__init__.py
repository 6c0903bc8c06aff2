"""Models: scikit-learn feature baselines and the deep video model registry (``create_model``)."""

from aura.models.baselines import (
    BASELINES,
    FittedBaseline,
    baseline_settings,
    build_baseline,
    fit_baseline,
    join_features,
)
from aura.models.registry import (
    LOOP_KEYS,
    ModelSettings,
    UnknownSettingError,
    VideoClassifier,
    build_model,
    create_model,
    list_models,
    model_defaults,
    model_settings,
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
    "LOOP_KEYS",
    "ModelSettings",
    "FittedBaseline",
    "PretrainedWeightsWarning",
    "UnknownSettingError",
    "VideoClassifier",
    "WeightsNotFoundError",
    "baseline_settings",
    "build_baseline",
    "build_model",
    "create_model",
    "describe_pretrained",
    "fit_baseline",
    "join_features",
    "list_models",
    "model_defaults",
    "model_settings",
    "parse_pretrained",
    "register_model",
]
