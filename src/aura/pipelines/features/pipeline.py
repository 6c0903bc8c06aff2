"""Features pipeline (stage 2)."""

from __future__ import annotations

from kedro.pipeline import Pipeline, node, pipeline

from aura.pipelines.features.nodes import extract_stage2


def create_pipeline(**kwargs: object) -> Pipeline:
    """``video_index`` + ``augmented_metadata`` → ``features_stage2`` (+ matrix)."""
    return pipeline(
        [
            node(
                extract_stage2,
                [
                    "video_index",
                    "augmented_metadata",
                    "params:features",
                    "params:executor",
                    "params:cache_dir",
                    "params:ingest",  # ingest.max_pixels
                ],
                ["features_stage2", "features_stage2_matrix", "features_stage2_failures"],
                name="extract_features_stage2",
            )
        ],
        tags="features",
    )
