"""Inference pipeline: score new videos with the released detector."""

from aura.pipelines.inference.pipeline import INPUT, create_pipeline

__all__ = ["INPUT", "create_pipeline"]
