"""Evaluation library: binary video-level metrics for cross-validation."""

from aura.evaluation.metrics import (
    METRICS,
    binary_metrics,
    equal_error_rate,
    expected_calibration_error,
    metrics_table,
    per_platform,
    summary_table,
)

__all__ = [
    "METRICS",
    "binary_metrics",
    "equal_error_rate",
    "expected_calibration_error",
    "metrics_table",
    "per_platform",
    "summary_table",
]
