"""Stage 3: letterbox every video (originals + variants) to a small square, all frames kept."""

from aura.pipelines.scaling.pipeline import create_pipeline

__all__ = ["create_pipeline"]
