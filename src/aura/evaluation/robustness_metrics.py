"""Robustness metrics and plot: pooled out-of-fold ROC-AUC per (model, perturbation).

``none`` is the unperturbed baseline: the training run's own out-of-fold scores
(``cv_predictions``) of the same validation originals the perturbations scored. Intervals are
cascade-bootstrap percentile intervals (:func:`aura.evaluation.pooled.auc_with_ci`, resampling
``group_id``). ``delta`` is paired: a perturbation's ROC-AUC minus the unperturbed ROC-AUC of
the very videos it scored (rows without a score, e.g. undecodable, are left out of both).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
from matplotlib.figure import Figure
from sklearn.metrics import roc_auc_score

from aura.evaluation.pooled import auc_with_ci
from aura.evaluation.robustness import SCORED

NONE = "none"
#: ``robustness_metrics``: one row per (model, perturbation), ``none`` first.
METRICS_SCHEMA: dict[str, Any] = {
    "model": pl.String,
    "perturbation": pl.String,
    "n": pl.Int64,  # videos scored (those in the ROC-AUC)
    "n_unchanged": pl.Int64,  # of which the perturbation did not apply (scored as they are)
    "n_failed": pl.Int64,  # videos without a score (a status other than ok / unchanged)
    "roc_auc": pl.Float64,
    "roc_auc_lo": pl.Float64,
    "roc_auc_hi": pl.Float64,
    "delta": pl.Float64,  # roc_auc minus the unperturbed ROC-AUC on the same videos
}
KEYS = ["model", "fold", "video_id"]


def empty_metrics() -> pl.DataFrame:
    return pl.DataFrame(schema=METRICS_SCHEMA)


def _arrays(rows: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    groups = rows.select(pl.coalesce("group_id", "video_id")).to_series()
    return (
        rows["target"].cast(pl.Int64).to_numpy(),
        rows["score"].cast(pl.Float64).to_numpy(),
        groups.cast(pl.String).to_numpy(),
    )


def _interval(
    rows: pl.DataFrame, n_boot: int, seed: int, level: float
) -> tuple[float, float, float]:
    """(ROC-AUC, lo, hi); NaN for no rows or one class, NaN bounds without resamples."""
    if rows.height == 0:
        return math.nan, math.nan, math.nan
    if n_boot == 0:
        return _point(rows), math.nan, math.nan
    return auc_with_ci(*_arrays(rows), n_boot=n_boot, seed=seed, level=level)


def _point(rows: pl.DataFrame) -> float:
    target = rows["target"].to_numpy()
    if np.unique(target).size < 2:
        return math.nan
    return float(roc_auc_score(target, rows["score"].cast(pl.Float64).to_numpy()))


def robustness_metrics(
    predictions: pl.DataFrame,
    cv_predictions: pl.DataFrame,
    perturbations: Sequence[str],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> pl.DataFrame:
    """``robustness_metrics`` (see :data:`METRICS_SCHEMA`) of ``robustness_predictions``;
    intervals from ``n_boot`` cascade resamples (0: none) at ``level``."""
    if predictions.height == 0:
        return empty_metrics()
    keys = predictions.select(KEYS).unique()
    base = cv_predictions.join(keys, on=KEYS, how="semi").select(
        *KEYS, "group_id", "target", "score"
    )
    rows: list[dict[str, Any]] = []
    for model in predictions["model"].unique(maintain_order=True).to_list():
        clean = base.filter(pl.col("model") == model)
        n_videos = keys.filter(pl.col("model") == model).height
        auc, lo, hi = _interval(clean, n_boot, seed, level)
        rows.append(
            {
                "model": model,
                "perturbation": NONE,
                "n": clean.height,
                "n_unchanged": 0,
                "n_failed": n_videos - clean.height,
                "roc_auc": auc,
                "roc_auc_lo": lo,
                "roc_auc_hi": hi,
                "delta": 0.0,
            }
        )
        for name in perturbations:
            p = predictions.filter((pl.col("model") == model) & (pl.col("perturbation") == name))
            scored = p.filter(pl.col("status").is_in(SCORED) & pl.col("score").is_not_null())
            auc, lo, hi = _interval(scored, n_boot, seed, level)
            same = clean.join(scored.select("fold", "video_id"), on=["fold", "video_id"])
            rows.append(
                {
                    "model": model,
                    "perturbation": name,
                    "n": scored.height,
                    "n_unchanged": scored.filter(pl.col("status") == "unchanged").height,
                    "n_failed": p.height - scored.height,
                    "roc_auc": auc,
                    "roc_auc_lo": lo,
                    "roc_auc_hi": hi,
                    "delta": auc - _point(same) if same.height else math.nan,
                }
            )
    return pl.DataFrame(rows, schema=METRICS_SCHEMA)


def placeholder_plot(text: str) -> Figure:
    """A small figure that only says ``text`` (the report is off, or had nothing to score)."""
    fig = Figure(figsize=(6.0, 1.6), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    ax.axis("off")
    ax.text(0.5, 0.5, text.replace("$", r"\$"), ha="center", va="center", wrap=True)
    return fig


def robustness_plot(metrics: pl.DataFrame) -> Figure:
    """ROC-AUC per perturbation (``none`` first), one marker series per model, with its
    interval as error bars and its unperturbed ROC-AUC as a dashed line."""
    if metrics.height == 0:
        return placeholder_plot("Robustness: no video was scored")
    names = metrics["perturbation"].unique(maintain_order=True).to_list()
    models = metrics["model"].unique(maintain_order=True).to_list()
    fig = Figure(figsize=(max(6.0, 1.0 * len(names) + 2.0), 4.5), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(len(names), dtype=np.float64)
    width = 0.7 / max(len(models), 1)
    for i, model in enumerate(models):
        m = metrics.filter(pl.col("model") == model)
        by_name = {r["perturbation"]: r for r in m.iter_rows(named=True)}
        auc = np.array([by_name.get(n, {}).get("roc_auc", np.nan) for n in names], np.float64)
        lo = np.array([by_name.get(n, {}).get("roc_auc_lo", np.nan) for n in names], np.float64)
        hi = np.array([by_name.get(n, {}).get("roc_auc_hi", np.nan) for n in names], np.float64)
        err = np.nan_to_num(np.clip(np.vstack([auc - lo, hi - auc]), 0, None))
        pos = x + (i - (len(models) - 1) / 2) * width
        bars = ax.errorbar(pos, auc, yerr=err, fmt="o", capsize=3, label=str(model))
        if NONE in by_name and by_name[NONE]["roc_auc"] is not None:
            colour = bars.lines[0].get_color()
            ax.axhline(by_name[NONE]["roc_auc"], color=colour, linestyle="--", linewidth=0.8)
    ax.set_xticks(x, [str(n) for n in names], rotation=30, ha="right")
    ax.set_ylabel("ROC-AUC (pooled over folds)")
    ax.axhline(0.5, color="grey", linewidth=0.6, linestyle=":")
    ax.set_ylim(0.0, 1.02)
    ax.set_title("Robustness: ROC-AUC per perturbation (cascade-bootstrap intervals)")
    ax.legend(loc="lower left", fontsize="small")
    return fig
