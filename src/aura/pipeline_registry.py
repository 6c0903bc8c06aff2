"""Project pipelines."""

from __future__ import annotations

from kedro.pipeline import Pipeline

from aura.pipelines import (
    augmentation,
    evaluation,
    features,
    ingest,
    scaled_features,
    scaling,
    training,
)

#: Stages in run order; ``__default__`` chains them all.
STAGES = {
    "ingest": ingest,
    "augmentation": augmentation,
    "features": features,
    "scaling": scaling,
    "scaled_features": scaled_features,
    "training": training,
    "evaluation": evaluation,
}


def register_pipelines() -> dict[str, Pipeline]:
    """Register each stage under its name and all of them, in order, as ``__default__``."""
    pipelines = {name: module.create_pipeline() for name, module in STAGES.items()}
    pipelines["__default__"] = sum(pipelines.values(), Pipeline([]))
    return pipelines
