"""Robustness: every fold model re-scores its validation originals after perturbations."""

from aura.pipelines.robustness.pipeline import create_pipeline

__all__ = ["create_pipeline"]
