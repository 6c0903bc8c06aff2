"""Project pipelines."""

from __future__ import annotations

from kedro.pipeline import Pipeline
from kedro_mlflow.pipeline import pipeline_ml_factory
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

from aura.pipelines import (
    augmentation,
    evaluation,
    features,
    inference,
    ingest,
    release,
    robustness,
    scaled_features,
    scaling,
    training,
)
from aura.training.grid import Grid, default_grid

#: What the served model accepts: rows with a server-side ``path`` or a base64 ``video_b64``
#: upload (with an optional ``name``). Explicit, because kedro-mlflow's default ("auto") would
#: load ``inference_videos`` from the catalog at the end of every run.
SIGNATURE = ModelSignature(
    inputs=Schema([ColSpec("string", c, required=False) for c in ("path", "video_b64", "name")])
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
    "robustness": robustness,
    "release": release,
}


def register_pipelines(grid: Grid | None = None) -> dict[str, Pipeline]:
    """Each stage under its name; ``inference`` (scores ``inference_videos``); and
    ``__default__``: every stage in order, bound to ``inference`` with kedro-mlflow's
    ``pipeline_ml_factory``, so a run logs the inference pipeline (with the released detector
    as its artifact) as the MLflow pyfunc model ``model``.

    Kedro calls it without arguments (the schema's default grid); a session's pipelines are
    built with its own grid by :class:`aura.hooks.GridHooks`."""
    grid = grid or default_grid()
    pipelines = {name: module.create_pipeline(grid=grid) for name, module in STAGES.items()}
    scoring = inference.create_pipeline()
    pipelines["__default__"] = pipeline_ml_factory(
        training=sum(pipelines.values(), Pipeline([])),
        inference=scoring,
        input_name=inference.INPUT,
        log_model_kwargs={"name": "model", "signature": SIGNATURE},
    )
    pipelines["inference"] = scoring
    return pipelines
