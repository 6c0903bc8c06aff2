"""Stage 2: handcrafted forensic features of originals and variants at native resolution."""

from aura.pipelines.features.pipeline import create_pipeline

__all__ = ["create_pipeline"]
