"""Stage 1: K deterministic augmented variants per usable original video."""

from aura.pipelines.augmentation.pipeline import create_pipeline

__all__ = ["create_pipeline"]
