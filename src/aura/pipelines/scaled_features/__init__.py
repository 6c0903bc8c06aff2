"""Stage 4: the stage-2 features computed on the scaled videos (columns prefixed)."""

from aura.pipelines.scaled_features.pipeline import create_pipeline

__all__ = ["create_pipeline"]
