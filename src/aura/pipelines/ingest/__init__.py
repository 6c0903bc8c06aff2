"""Ingest: corpus annotations + video files → the ``video_index`` table."""

from aura.pipelines.ingest.pipeline import create_pipeline

__all__ = ["create_pipeline"]
