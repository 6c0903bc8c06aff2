"""Training (stage 5) library: cross-validation folds and grid, clip datasets and samplers, the
Lightning loop for the deep video models."""

from aura.training.clips import BalancedBatchSampler, ClipDataset, ClipItem, class_pos_weight
from aura.training.fit import FitResult, TrainConfig, fit_clip_model, predict_clips
from aura.training.folds import FoldError, make_folds

__all__ = [
    "BalancedBatchSampler",
    "ClipDataset",
    "ClipItem",
    "FitResult",
    "FoldError",
    "TrainConfig",
    "class_pos_weight",
    "fit_clip_model",
    "make_folds",
    "predict_clips",
]
