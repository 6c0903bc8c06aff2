"""Pooled out-of-fold summary per model and paired model comparisons, with cascade-bootstrap
intervals (:mod:`aura.evaluation.pooled`).

Every original is scored once per model across the folds, so a model's pooled table is all its
rows of ``cv_predictions`` (``model, fold, video_id, group_id, target, score``). One set of
resamples of the groups serves every model and pair, so a pair's difference is paired.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations
from typing import Any

import numpy as np
import polars as pl

from aura.evaluation.metrics import METRICS, binary_metrics, summary_table
from aura.evaluation.pooled import (
    Resamples,
    WeightedMetric,
    check_level,
    percentile_interval,
    weighted_accuracy,
    weighted_auc,
    weighted_average_precision,
    weighted_f1,
)

#: Pooled metrics with a bootstrap interval (``<metric>_lo`` / ``<metric>_hi``).
INTERVAL_METRICS: tuple[str, ...] = ("roc_auc", "pr_auc", "accuracy", "f1")
#: Pooled point metrics, in column order (intervals follow their metric).
POOLED_METRICS: tuple[str, ...] = METRICS  # the per-fold metrics, pooled
COUNTS: tuple[str, ...] = ("n_videos", "n_real", "n_fake", "n_groups", "n_folds")
NEEDED = ("model", "fold", "video_id", "target", "score")


def finite(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing or not finite."""
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def _require(predictions: pl.DataFrame, columns: Sequence[str]) -> None:
    if missing := [c for c in columns if c not in predictions.columns]:
        raise ValueError(f"cv_predictions lacks columns {missing}; has {predictions.columns}")


def draw_resamples(predictions: pl.DataFrame, n_boot: int, seed: int) -> Resamples:
    """Resamples of every ``group_id`` in ``predictions`` (shared by all models and pairs)."""
    if n_boot:
        _require(predictions, ["group_id"])
        return Resamples.draw(predictions["group_id"].cast(pl.String).to_numpy(), n_boot, seed)
    return Resamples(np.array([], dtype=object), np.zeros((0, 0)))


def _groups(rows: pl.DataFrame) -> np.ndarray:
    return rows["group_id"].cast(pl.String).to_numpy()


def pooled_columns() -> list[str]:
    """The pooled columns of :func:`pooled_summary` after ``model``, in order."""
    cols = list(COUNTS)
    for m in POOLED_METRICS:
        cols += [m, f"{m}_lo", f"{m}_hi"] if m in INTERVAL_METRICS else [m]
    return [*cols, "threshold", "ci_level", "n_boot"]


def _schema() -> dict[str, pl.DataType]:
    schema: dict[str, pl.DataType] = {"model": pl.String()}
    for c in pooled_columns():
        schema[c] = pl.Int64() if c in COUNTS or c == "n_boot" else pl.Float64()
    return schema


def _pooled_row(
    model: str,
    rows: pl.DataFrame,
    resamples: Resamples,
    *,
    threshold: float,
    n_bins: int,
    level: float,
) -> dict[str, Any]:
    y = rows["target"].to_numpy().astype(int)
    s = rows["score"].to_numpy().astype(np.float64)
    n_fake = int(y.sum())
    row: dict[str, Any] = {
        "model": model,
        "n_videos": int(y.size),
        "n_real": int(y.size - n_fake),
        "n_fake": n_fake,
        "n_groups": rows["group_id"].n_unique() if "group_id" in rows.columns else None,
        "n_folds": rows["fold"].n_unique(),
        "threshold": float(threshold),
        "ci_level": float(level),
        "n_boot": resamples.n_boot,
    }
    if n_fake in (0, y.size):  # one class: nothing is defined
        return row
    row.update(
        {
            m: v
            for m, v in binary_metrics(y, s, threshold=threshold, n_bins=n_bins).items()
            if m in POOLED_METRICS
        }
    )
    if resamples.n_boot:
        fns: dict[str, WeightedMetric] = {
            "roc_auc": weighted_auc,
            "pr_auc": weighted_average_precision,
            "accuracy": weighted_accuracy(threshold),
            "f1": weighted_f1(threshold),
        }
        boot = resamples.apply(fns, y, s, _groups(rows))
        for m, values in boot.items():
            row[f"{m}_lo"], row[f"{m}_hi"] = (finite(v) for v in percentile_interval(values, level))
    return row


def pooled_summary(
    predictions: pl.DataFrame,
    fold_metrics: pl.DataFrame | None = None,
    *,
    threshold: float = 0.5,
    n_bins: int = 10,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    resamples: Resamples | None = None,
) -> pl.DataFrame:
    """One row per model (sorted): ``model``, :func:`pooled_columns`, then, with
    ``fold_metrics`` (``cv_metrics``), each metric's ``<m>_mean`` / ``<m>_std`` over folds.

    Metrics of a model whose pooled rows hold one class are null; intervals are null when
    ``n_boot`` is 0 (``group_id`` is then not needed).
    """
    _require(predictions, NEEDED)
    check_level(level)
    resamples = resamples or draw_resamples(predictions, n_boot, seed)
    rows = [
        _pooled_row(str(model), part, resamples, threshold=threshold, n_bins=n_bins, level=level)
        for (model,), part in predictions.sort("model").group_by("model", maintain_order=True)
    ]
    table = pl.DataFrame(rows, schema=_schema(), orient="row")
    if fold_metrics is None or not fold_metrics.height:
        return table
    folds = summary_table(fold_metrics).drop("n_folds")
    return table.join(folds, on="model", how="left", maintain_order="left")


def _scored(predictions: pl.DataFrame, model: str) -> pl.DataFrame:
    rows = predictions.filter(pl.col("model") == model).sort("video_id")
    if rows["video_id"].is_duplicated().any():
        raise ValueError(f"cv_predictions: model {model!r} scores a video more than once")
    return rows


def _boot_auc(rows: pl.DataFrame, resamples: Resamples) -> np.ndarray:
    y, s = rows["target"].to_numpy(), rows["score"].to_numpy().astype(np.float64)
    return resamples.apply({"auc": weighted_auc}, y, s, _groups(rows))["auc"]


def _point_auc(rows: pl.DataFrame) -> float | None:
    y, s = rows["target"].to_numpy(), rows["score"].to_numpy().astype(np.float64)
    return finite(weighted_auc(y, s, np.ones((1, y.size)))[0])


def paired_comparisons(
    predictions: pl.DataFrame,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    resamples: Resamples | None = None,
) -> pl.DataFrame:
    """Every pair of models (``model_a < model_b`` by name) on the videos both scored:
    ``roc_auc_a``, ``roc_auc_b``, ``roc_auc_diff = a - b`` with its percentile interval over
    the same group resamples for both models, and ``significant`` (the interval excludes 0).

    Each model's resampled AUCs are computed once and reused by every pair scoring the same
    videos; a pair on a subset of a model's videos recomputes them on the shared videos.
    """
    _require(predictions, [*NEEDED, "group_id"])
    check_level(level)
    resamples = resamples or draw_resamples(predictions, n_boot, seed)
    models = sorted(str(m) for m in predictions["model"].unique())
    scored = {m: _scored(predictions, m) for m in models}
    full: dict[str, np.ndarray] = {}

    def boot(model: str, rows: pl.DataFrame) -> np.ndarray:
        if rows.height == scored[model].height:  # the pair covers all this model's videos
            if model not in full:
                full[model] = _boot_auc(rows, resamples)
            return full[model]
        return _boot_auc(rows, resamples)

    out: list[dict[str, Any]] = []
    for a, b in combinations(models, 2):
        shared = scored[a].join(scored[b].select("video_id"), on="video_id", how="semi")
        rows_a = shared
        rows_b = scored[b].join(shared.select("video_id"), on="video_id", how="semi")
        row: dict[str, Any] = {
            "model_a": a,
            "model_b": b,
            "n_videos": shared.height,
            "n_groups": shared["group_id"].n_unique(),
            "roc_auc_a": _point_auc(rows_a) if shared.height else None,
            "roc_auc_b": _point_auc(rows_b) if shared.height else None,
        }
        diff = None
        if row["roc_auc_a"] is not None and row["roc_auc_b"] is not None:
            diff = row["roc_auc_a"] - row["roc_auc_b"]
        lo = hi = None
        if diff is not None and resamples.n_boot:
            lo, hi = (
                finite(v) for v in percentile_interval(boot(a, rows_a) - boot(b, rows_b), level)
            )
        row.update(
            {
                "roc_auc_diff": diff,
                "roc_auc_diff_lo": lo,
                "roc_auc_diff_hi": hi,
                "significant": None if lo is None or hi is None else bool(lo > 0 or hi < 0),
                "ci_level": float(level),
                "n_boot": resamples.n_boot,
            }
        )
        out.append(row)
    schema = {
        "model_a": pl.String(),
        "model_b": pl.String(),
        "n_videos": pl.Int64(),
        "n_groups": pl.Int64(),
        **{c: pl.Float64() for c in ("roc_auc_a", "roc_auc_b", "roc_auc_diff")},
        "roc_auc_diff_lo": pl.Float64(),
        "roc_auc_diff_hi": pl.Float64(),
        "significant": pl.Boolean(),
        "ci_level": pl.Float64(),
        "n_boot": pl.Int64(),
    }
    return pl.DataFrame(out, schema=schema, orient="row")
