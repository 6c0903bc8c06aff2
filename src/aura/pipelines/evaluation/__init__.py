"""Evaluation: cross-validated metrics, plots and the report over every grid cell."""

from aura.pipelines.evaluation.pipeline import create_pipeline

__all__ = ["create_pipeline"]
