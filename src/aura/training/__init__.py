"""Training (stage 5) library: cross-validation folds; models and loops come next."""

from aura.training.folds import FoldError, make_folds

__all__ = ["FoldError", "make_folds"]
