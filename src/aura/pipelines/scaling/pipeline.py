"""Scaling pipeline (stage 3)."""

from __future__ import annotations

from kedro.pipeline import Pipeline, node, pipeline

from aura.pipelines.scaling.nodes import scale_videos


def create_pipeline(**kwargs: object) -> Pipeline:
    """``video_index`` + ``augmented_metadata`` → ``scaled_metadata`` + ``scaled_videos``."""
    return pipeline(
        [
            node(
                scale_videos,
                [
                    "video_index",
                    "augmented_metadata",
                    "params:scaling",
                    "params:executor",
                    "params:cache_dir",
                    "params:ingest",  # ingest.max_pixels
                ],
                ["scaled_metadata", "scaled_videos"],
                name="scale_videos",
            )
        ],
        tags="scaling",
    )
