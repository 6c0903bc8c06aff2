"""Augmentation pipeline (stage 1)."""

from __future__ import annotations

from kedro.pipeline import Pipeline, node, pipeline

from aura.pipelines.augmentation.nodes import augment_videos


def create_pipeline(**kwargs: object) -> Pipeline:
    """``video_index`` → ``augmented_metadata`` + ``augmented_videos``."""
    return pipeline(
        [
            node(
                augment_videos,
                [
                    "video_index",
                    "params:augmentation",
                    "params:executor",
                    "params:cache_dir",
                    "params:ingest",  # ingest.max_pixels
                ],
                ["augmented_metadata", "augmented_videos"],
                name="augment_videos",
            )
        ],
        tags="augmentation",
    )
