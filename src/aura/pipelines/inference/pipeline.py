"""``inference``: ``inference_videos`` (paths) → ``inference_predictions`` (one row per video).

Bound to the training pipelines with kedro-mlflow's ``pipeline_ml_factory`` (see
:mod:`aura.pipeline_registry`), so ``kedro run`` logs it as an MLflow pyfunc model that
``mlflow models serve`` answers with.
"""

from __future__ import annotations

from kedro.pipeline import Pipeline, node, pipeline

from aura.pipelines.inference.nodes import publish_predictions, score_videos

#: The dataset a caller provides (kedro-mlflow's ``input_name``).
INPUT = "inference_videos"


def create_pipeline(**kwargs: object) -> Pipeline:
    """Score the videos, then attach the explanations' names; one output."""
    return pipeline(
        [
            node(
                score_videos,
                [INPUT, "detector", "params:inference"],
                ["inference_scored", "inference_explanations"],
                name="score_videos",
            ),
            node(
                publish_predictions,
                ["inference_scored", "inference_explanations"],
                "inference_predictions",
                name="publish_predictions",
            ),
        ],
        tags="inference",
    )
