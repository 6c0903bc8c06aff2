"""Stage 5 nodes: folds, the model-input table, and one grid cell's train → predict → score."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import polars as pl

from aura.config import Section
from aura.evaluation import metrics_table
from aura.models import FittedBaseline, SkippedCell, fit_baseline, join_features
from aura.training import make_folds
from aura.training.config import TrainingConfig

log = logging.getLogger(__name__)

PREDICTION_COLUMNS = [
    "model",
    "fold",
    "video_id",
    "cascade_id",
    "group_id",
    "platform",
    "label",
    "target",
    "score",
]


def cv_folds(
    video_index: pl.DataFrame,
    augmented_metadata: pl.DataFrame,
    training: TrainingConfig | Mapping[str, Any],
) -> pl.DataFrame:
    """The long ``cv_folds`` table (see :func:`aura.training.make_folds`)."""
    config = TrainingConfig.from_params(training)
    return make_folds(
        video_index,
        augmented_metadata,
        n_folds=config.n_folds,
        seed=config.seed,
        auto_reduce_folds=config.auto_reduce_folds,
        inner_val_fraction=config.inner_val_fraction,
    )


def model_input(
    features_stage2: pl.DataFrame,
    features_stage4: pl.DataFrame,
    folds: pl.DataFrame,
    video_metadata: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Stage 2 + stage 4 features of every video in ``cv_folds``, one row per video, then its
    ``meta_*`` columns from ``video_metadata`` (null where a video has none).

    Videos whose features failed in either stage cannot be used; they are logged with their count.
    """
    ids = folds.select("video_id").unique()
    table = join_features(features_stage2, features_stage4).join(ids, on="video_id", how="semi")
    if video_metadata is not None:
        table = table.join(video_metadata, on="video_id", how="left")
    if missing := ids.height - table.height:
        absent = ids.join(table.select("video_id"), on="video_id", how="anti")["video_id"]
        log.warning(
            "model_input: %d of %d fold videos have no stage 2 + 4 features and are left out: %s",
            missing,
            ids.height,
            absent.head(10).to_list(),
        )
    return table.sort("video_id")


def fold_rows(folds: pl.DataFrame, fold: int, role: str) -> pl.DataFrame:
    return folds.filter((pl.col("fold") == fold) & (pl.col("role") == role))


def inner_rows(folds: pl.DataFrame, fold: int, inner_role: str) -> pl.DataFrame:
    """The fold's training rows of ``inner_role``: ``fit`` originals and variants, or the
    ``select`` originals (their variants are neither trained on nor selected on)."""
    if "inner_role" not in folds.columns:
        raise ValueError("cv_folds has no inner_role column: re-run the make_cv_folds node")
    rows = fold_rows(folds, fold, "train").filter(pl.col("inner_role") == inner_role)
    return rows if inner_role == "fit" else rows.filter(pl.col("variant") == 0)


def missing_fold(folds: pl.DataFrame, model: str, fold: int) -> str | None:
    """Why cell ``<model>.fold_<fold>`` has nothing to do (logged), or ``None`` when the fold exists."""
    if fold in set(folds["fold"].to_list()):
        return None
    reason = f"cv_folds has {folds['fold'].n_unique()} folds (reduced by auto_reduce_folds)"
    log.warning("%s.fold_%d skipped: %s", model, fold, reason)
    return reason


def validation_rows(folds: pl.DataFrame, fold: int, video_index: pl.DataFrame) -> pl.DataFrame:
    """The fold's validation originals with their platform (for per-platform metrics)."""
    return fold_rows(folds, fold, "val").join(
        video_index.select("video_id", "platform"), on="video_id", how="left"
    )


def prediction_table(val: pl.DataFrame, scores: Any, *, model: str, fold: int) -> pl.DataFrame:
    """A cell's predictions as PREDICTION_COLUMNS: ``val`` with ``scores`` (same row order)."""
    return val.with_columns(
        pl.lit(model).alias("model"),
        pl.lit(fold, pl.Int64).alias("fold"),
        pl.Series("score", scores, pl.Float64),
        pl.col("target").cast(pl.Int8),
    ).select(PREDICTION_COLUMNS)


def train_model(
    folds: pl.DataFrame,
    features: pl.DataFrame,
    model_params: Section | Mapping[str, Any],
    seed: int,
    *,
    model: str,
    fold: int,
) -> FittedBaseline | SkippedCell:
    """Fit ``model`` on fold ``fold``'s training rows (originals and variants) that have features.

    A baseline selects nothing, so it trains on every training row: ``inner_role`` ``fit`` and
    ``select`` alike (the outer validation rows stay out)."""
    if reason := missing_fold(folds, model, fold):
        return SkippedCell(model, fold, reason)
    train_ids = fold_rows(folds, fold, "train").join(
        features.select("video_id"), on="video_id", how="semi"
    )
    fitted = fit_baseline(
        model, features, train_ids["video_id"].to_list(), model_params, seed=seed + fold
    )
    log.info("%s.fold_%d trained on %d videos", model, fold, train_ids.height)
    return fitted


def predict_fold(
    fitted: FittedBaseline | SkippedCell,
    folds: pl.DataFrame,
    features: pl.DataFrame,
    video_index: pl.DataFrame,
    *,
    model: str,
    fold: int,
) -> pl.DataFrame:
    """Scores (probability of fake) for the fold's validation originals, with their metadata."""
    val = validation_rows(folds, fold, video_index).join(
        features.select("video_id"), on="video_id", how="semi"
    )
    if isinstance(fitted, SkippedCell):
        val = val.head(0)
    # a left join keeps val's row order, so scores line up with val's rows
    rows = val.select("video_id").join(features, on="video_id", how="left")
    scores = fitted.predict_proba(rows) if rows.height else []
    return prediction_table(val, scores, model=model, fold=fold)


def score_fold(predictions: pl.DataFrame, threshold: float) -> pl.DataFrame:
    """The cell's metrics row (no row when the cell was skipped)."""
    return metrics_table(predictions, threshold=threshold)
