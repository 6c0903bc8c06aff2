"""Out-of-fold predictions as the release sees them: per-model pooled metrics, the best model,
the ensemble's out-of-fold logits and its metrics at a threshold.

``cv_predictions`` (evaluation pipeline) holds one row per (model, fold, validation original):
``model, fold, video_id, target, score`` with ``score`` the probability of fake.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
from sklearn.metrics import log_loss, roc_auc_score

from aura.evaluation.metrics import (
    binary_metrics,
    equal_error_rate,
    expected_calibration_error,
)
from aura.evaluation.operating import operating_point
from aura.evaluation.summary import pooled_summary
from aura.models.kinds import logit

#: Threshold-free metrics of each released model in the manifest's ``cv_metrics``.
RANKING = ("roc_auc", "pr_auc", "eer", "ece")
#: The release metrics at the chosen threshold (one row of ``release_metrics``).
OOF_METRICS = (
    "roc_auc",
    "pr_auc",
    "eer",
    "ece",
    "log_loss",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "fpr",
    "tpr",
    "n",
    "threshold",
)


def _require(cv_predictions: pl.DataFrame) -> None:
    need = ("model", "fold", "video_id", "target", "score")
    if missing := [c for c in need if c not in cv_predictions.columns]:
        raise ValueError(f"cv_predictions lacks columns {missing}; has {cv_predictions.columns}")


def pooled_metrics(cv_predictions: pl.DataFrame) -> dict[str, dict[str, float]]:
    """Per model with both classes scored: its pooled out-of-fold ranking metrics (roc_auc,
    pr_auc, eer, ece), ``n_val`` and ``n_folds`` (the point estimates of ``cv_summary``)."""
    _require(cv_predictions)
    table = pooled_summary(cv_predictions, n_boot=0)
    return {
        str(row["model"]): {
            **{k: row[k] for k in RANKING},
            "n_val": row["n_videos"],
            "n_folds": row["n_folds"],
        }
        for row in table.iter_rows(named=True)
        if row["roc_auc"] is not None
    }


def best_model(cv_predictions: pl.DataFrame, candidates: Sequence[str]) -> str:
    """The candidate with the highest pooled out-of-fold ROC-AUC (ties: the first listed)."""
    pooled = pooled_metrics(cv_predictions.filter(pl.col("model").is_in(list(candidates))))
    ranked = [(pooled[m]["roc_auc"], -i, m) for i, m in enumerate(candidates) if m in pooled]
    if not ranked:
        raise ValueError(
            "release.models is null but cv_predictions scores none of the trained models "
            f"({', '.join(candidates)}) on both classes; cannot choose the best one"
        )
    return max(ranked)[2]


def ensemble_oof(cv_predictions: pl.DataFrame, models: Sequence[str]) -> pl.DataFrame:
    """``video_id, target, logit``: each video's mean out-of-fold logit over ``models`` (only
    videos every model scored)."""
    _require(cv_predictions)
    frames = []
    for m in models:
        rows = cv_predictions.filter(pl.col("model") == m)
        if not rows.height:
            raise ValueError(f"release.models: {m!r} has no out-of-fold predictions")
        if rows["video_id"].is_duplicated().any():
            raise ValueError(f"cv_predictions: model {m!r} scores a video in two folds")
        frames.append(
            rows.select(
                "video_id",
                pl.col("target").cast(pl.Int8),
                pl.Series("logit", logit(rows["score"].to_numpy())).alias(f"logit_{m}"),
            )
        )
    joined = frames[0]
    for f in frames[1:]:
        joined = joined.join(f.drop("target"), on="video_id", how="inner")
    cols = [f"logit_{m}" for m in models]
    return joined.select("video_id", "target", pl.mean_horizontal(cols).alias("logit")).sort(
        "video_id"
    )


def metrics_at(y: Any, p: Any, threshold: float) -> dict[str, float]:
    """:data:`OOF_METRICS` of probabilities ``p`` on labels ``y``, fake iff ``p >= threshold``."""
    t = np.asarray(y).astype(int)
    s = np.asarray(p, dtype=np.float64)
    point = operating_point(t, s, threshold)
    ranking = binary_metrics(t, np.clip(s, 0.0, 1.0))
    return {
        "roc_auc": float(roc_auc_score(t, s)),
        "pr_auc": ranking["pr_auc"],
        "eer": equal_error_rate(t, s),
        "ece": expected_calibration_error(t, np.clip(s, 0.0, 1.0)),
        "log_loss": float(log_loss(t, np.clip(s, 1e-6, 1 - 1e-6), labels=[0, 1])),
        "accuracy": point.accuracy,
        "precision": point.precision,
        "recall": point.recall,
        "f1": point.f1,
        "fpr": point.fpr,
        "tpr": point.recall,
        "n": int(t.size),
        "threshold": float(threshold),
    }
