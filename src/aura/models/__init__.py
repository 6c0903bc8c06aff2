"""Models: one registry (``create_model``) of feature baselines and deep video classifiers."""

from aura.models.artifacts import (
    ClipModelConfig,
    FitReport,
    SkippedCell,
    TrainedClipModel,
    load_artifact,
    save_artifact,
)
from aura.models.baselines import (
    FittedBaseline,
    build_baseline,
    fit_baseline,
    join_features,
)
from aura.models.kinds import CLIPS, FEATURES, ModelKind
from aura.models.registry import (
    LOOP_KEYS,
    ModelEntry,
    ModelSettings,
    UnknownSettingError,
    VideoClassifier,
    build_model,
    create_model,
    list_models,
    model_defaults,
    model_entry,
    model_settings,
    register_model,
)
from aura.models.weights import (
    PretrainedSource,
    PretrainedWeightsWarning,
    WeightsNotFoundError,
    apply_pretrained,
    describe_pretrained,
    parse_pretrained,
)

__all__ = [
    "CLIPS",
    "FEATURES",
    "LOOP_KEYS",
    "ClipModelConfig",
    "FitReport",
    "FittedBaseline",
    "ModelEntry",
    "ModelKind",
    "ModelSettings",
    "PretrainedSource",
    "PretrainedWeightsWarning",
    "SkippedCell",
    "TrainedClipModel",
    "UnknownSettingError",
    "VideoClassifier",
    "WeightsNotFoundError",
    "apply_pretrained",
    "build_baseline",
    "build_model",
    "create_model",
    "describe_pretrained",
    "fit_baseline",
    "join_features",
    "list_models",
    "load_artifact",
    "model_defaults",
    "model_entry",
    "model_settings",
    "parse_pretrained",
    "register_model",
    "save_artifact",
]
