"""Stage 5: group-aware K-fold CV fanned out over models × folds (namespaced cells)."""

from aura.pipelines.training.pipeline import create_pipeline

__all__ = ["create_pipeline"]
