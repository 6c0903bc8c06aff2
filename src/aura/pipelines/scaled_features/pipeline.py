"""Scaled-features pipeline (stage 4); its node is the stage-2 feature node on scaled videos."""

from __future__ import annotations

from kedro.pipeline import Pipeline, node, pipeline

from aura.pipelines.features.nodes import extract_stage4


def create_pipeline(**kwargs: object) -> Pipeline:
    """``scaled_metadata`` → ``features_stage4`` (+ matrix)."""
    return pipeline(
        [
            node(
                extract_stage4,
                [
                    "scaled_metadata",
                    "params:scaled_features",
                    "params:executor",
                    "params:cache_dir",
                    "params:ingest",  # ingest.max_pixels
                ],
                ["features_stage4", "features_stage4_matrix", "features_stage4_failures"],
                name="extract_features_stage4",
            )
        ],
        tags="scaled_features",
    )
