"""Binary video-level metrics for cross-validation (label 1 = fake is the positive class).

Scores are predicted probabilities of *fake*. Every metric is computed on real numbers only:
a fold with a single class raises instead of silently producing NaN (pooled and per-slice
metrics: :mod:`aura.evaluation.summary`, :mod:`aura.evaluation.slices`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

METRICS: tuple[str, ...] = (
    "roc_auc",
    "pr_auc",
    "eer",
    "ece",
    "accuracy",
    "precision",
    "recall",
    "f1",
)
ONE_CLASS_MESSAGE = "fold has only one class: roc_auc undefined"
PREDICTION_COLUMNS = ("target", "score")


def _validate(y_true: Any, y_score: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(y_true, y_score)`` as 1-d int / float arrays after checking shapes and ranges."""
    y = np.asarray(y_true)
    s = np.asarray(y_score, dtype=float)
    if y.ndim != 1 or s.ndim != 1:
        raise ValueError(f"y_true and y_score must be 1-d, got shapes {y.shape} and {s.shape}")
    if y.shape != s.shape:
        raise ValueError(f"y_true and y_score lengths differ: {y.shape[0]} vs {s.shape[0]}")
    if y.size == 0:
        raise ValueError("y_true is empty")
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"y_true must contain only 0/1, got values {np.unique(y).tolist()}")
    if not np.isfinite(s).all():
        raise ValueError("y_score contains non-finite values (NaN or inf)")
    if (s < 0.0).any() or (s > 1.0).any():
        raise ValueError(f"y_score must lie in [0, 1], got range [{s.min()}, {s.max()}]")
    y = y.astype(int)
    if np.unique(y).size < 2:
        raise ValueError(ONE_CLASS_MESSAGE)
    return y, s


def equal_error_rate(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """EER: the rate where FPR equals FNR (= 1 - TPR), linearly interpolated on the ROC curve."""
    fpr, tpr, _ = roc_curve(y_true, y_score)
    fnr = 1.0 - tpr
    diff = fpr - fnr  # non-decreasing: starts at -1 (point (0, 0)), ends at +1 (point (1, 1))
    i = int(np.argmax(diff >= 0.0))
    if diff[i] == 0.0 or i == 0:
        return float(fpr[i])
    t = -diff[i - 1] / (diff[i] - diff[i - 1])
    return float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))


def expected_calibration_error(y_true: np.ndarray, y_score: np.ndarray, n_bins: int = 10) -> float:
    """ECE over ``n_bins`` equal-width bins on [0, 1] (bins ``[lo, hi)``, the last one closed)."""
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.searchsorted(edges[1:-1], y_score, side="right")
    total = 0.0
    for b in np.unique(idx):
        mask = idx == b
        total += mask.sum() * abs(float(y_score[mask].mean()) - float(y_true[mask].mean()))
    return float(total / y_score.size)


def binary_metrics(
    y_true: Any, y_score: Any, *, threshold: float = 0.5, n_bins: int = 10
) -> dict[str, float]:
    """All of ``METRICS`` plus ``n_val`` and ``threshold``; the predicted label is ``score >= threshold``.

    Raises ``ValueError`` for a single-class ``y_true`` or invalid inputs.
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must lie in [0, 1], got {threshold}")
    y, s = _validate(y_true, y_score)
    y_pred = (s >= threshold).astype(int)
    return {
        "roc_auc": float(roc_auc_score(y, s)),
        "pr_auc": float(average_precision_score(y, s)),
        "eer": equal_error_rate(y, s),
        "ece": expected_calibration_error(y, s, n_bins),
        "accuracy": float(accuracy_score(y, y_pred)),
        "precision": float(precision_score(y, y_pred, zero_division=0)),
        "recall": float(recall_score(y, y_pred, zero_division=0)),
        "f1": float(f1_score(y, y_pred, zero_division=0)),
        "n_val": int(y.size),
        "threshold": float(threshold),
    }


def _require(df: pl.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"predictions missing columns {missing}; have {df.columns}")


def _schema(by: Sequence[str], df: pl.DataFrame) -> dict[str, pl.DataType]:
    schema: dict[str, pl.DataType] = {c: df.schema[c] for c in by}
    schema.update({m: pl.Float64() for m in METRICS})
    schema["n_val"] = pl.Int64()
    schema["threshold"] = pl.Float64()
    return schema


def metrics_table(
    predictions: pl.DataFrame, *, by: Sequence[str] = ("model", "fold"), threshold: float = 0.5
) -> pl.DataFrame:
    """One row per ``by`` group: the ``by`` columns, then ``METRICS``, ``n_val``, ``threshold``.

    ``predictions`` needs ``target`` (0/1) and ``score`` columns; a one-class group raises.
    """
    by = list(by)
    _require(predictions, [*by, *PREDICTION_COLUMNS])
    rows: list[dict[str, Any]] = []
    ordered = predictions.sort(by, nulls_last=True, maintain_order=True)
    for key, group in ordered.group_by(by, maintain_order=True):
        try:
            values = binary_metrics(group["target"], group["score"], threshold=threshold)
        except ValueError as err:
            raise ValueError(f"{dict(zip(by, key, strict=True))}: {err}") from err
        rows.append({**dict(zip(by, key, strict=True)), **values})
    return pl.DataFrame(rows, schema=_schema(by, predictions), orient="row")


def summary_table(metrics: pl.DataFrame) -> pl.DataFrame:
    """Per model: ``<metric>_mean``/``<metric>_std`` (ddof=1, null for one fold) and ``n_folds``."""
    _require(metrics, ["model", *METRICS])
    aggs: list[pl.Expr] = []
    for m in METRICS:
        aggs += [pl.col(m).mean().alias(f"{m}_mean"), pl.col(m).std(ddof=1).alias(f"{m}_std")]
    aggs.append(pl.len().cast(pl.Int64).alias("n_folds"))
    return metrics.group_by("model", maintain_order=True).agg(aggs).sort("model")
