"""Evaluation library: binary video-level metrics for cross-validation, pooled out-of-fold
metrics with cascade-bootstrap intervals, paired model comparisons and slices."""

from aura.evaluation.metrics import (
    METRICS,
    binary_metrics,
    equal_error_rate,
    expected_calibration_error,
    metrics_table,
    summary_table,
)
from aura.evaluation.operating import OperatingPoint, curve_points, operating_point
from aura.evaluation.pooled import Resamples, auc_with_ci
from aura.evaluation.slices import slice_table
from aura.evaluation.summary import paired_comparisons, pooled_summary

__all__ = [
    "METRICS",
    "OperatingPoint",
    "Resamples",
    "auc_with_ci",
    "binary_metrics",
    "curve_points",
    "equal_error_rate",
    "expected_calibration_error",
    "metrics_table",
    "operating_point",
    "paired_comparisons",
    "pooled_summary",
    "slice_table",
    "summary_table",
]
