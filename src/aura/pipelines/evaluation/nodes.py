"""Evaluation nodes: gather the grid's out-of-fold predictions and metrics, plot, report, track."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from typing import Any

import polars as pl
from matplotlib.figure import Figure

from aura.config import plain
from aura.evaluation import METRICS, paired_comparisons, plots, pooled_summary, slice_table
from aura.evaluation.report import render_markdown, render_report
from aura.evaluation.summary import finite, pooled_columns
from aura.pipelines.config import CorpusConfig, EvaluationConfig
from aura.tracking import config_hash
from aura.training.config import TrainingConfig

log = logging.getLogger(__name__)

#: Plot datasets (``<name>_plot`` → ``data/08_reporting/<name>.png``) and their report titles.
PLOTS = {
    "model_comparison": "Model comparison (pooled, cascade-bootstrap intervals)",
    "roc_curves": "ROC curves (folds overlaid)",
    "pr_curves": "Precision-recall curves (folds overlaid)",
    "reliability": "Reliability diagram",
    "confusion_matrices": "Confusion matrices (pooled over folds)",
}


def gather(*tables: pl.DataFrame) -> pl.DataFrame:
    """Concatenate the cells' tables (predictions or metrics), in grid order."""
    filled = [t for t in tables if t.height]
    return pl.concat(filled, how="vertical_relaxed") if filled else tables[0]


def cv_summary(
    cv_predictions: pl.DataFrame,
    cv_metrics: pl.DataFrame,
    evaluation: EvaluationConfig | Mapping[str, Any],
) -> pl.DataFrame:
    """Per model: pooled out-of-fold metrics with cascade-bootstrap intervals, then the mean and
    std of each metric over folds."""
    config = EvaluationConfig.from_params(evaluation)
    return pooled_summary(
        cv_predictions,
        cv_metrics,
        threshold=config.threshold,
        n_bins=config.calibration_bins,
        n_boot=config.bootstrap,
        seed=config.seed,
        level=config.ci_level,
    )


def cv_comparisons(
    cv_predictions: pl.DataFrame, evaluation: EvaluationConfig | Mapping[str, Any]
) -> pl.DataFrame:
    """Every model pair's ROC-AUC difference on their shared videos, with its paired interval."""
    config = EvaluationConfig.from_params(evaluation)
    return paired_comparisons(
        cv_predictions, n_boot=config.bootstrap, seed=config.seed, level=config.ci_level
    )


def cv_slices(
    cv_predictions: pl.DataFrame,
    video_index: pl.DataFrame,
    evaluation: EvaluationConfig | Mapping[str, Any],
) -> pl.DataFrame:
    """Metrics per model by platform, resolution, duration and codec; small or one-class slices
    listed with a note, not scored."""
    config = EvaluationConfig.from_params(evaluation)
    return slice_table(
        cv_predictions,
        video_index,
        min_videos=config.slices.min_videos,
        threshold=config.threshold,
        n_bins=config.calibration_bins,
        n_boot=config.bootstrap,
        seed=config.seed,
        level=config.ci_level,
    )


def _point(value: Any, step: int = 0) -> dict[str, Any] | None:
    v = finite(value)
    return None if v is None else {"value": v, "step": step}


def tracked_metrics(
    cv_metrics: pl.DataFrame, summary: pl.DataFrame, comparisons: pl.DataFrame
) -> dict[str, Any]:
    """MLflow metrics: ``<model>.<metric>`` per fold (step = fold), ``<model>.<metric>_mean``,
    ``<model>.pooled.<metric>`` (with ``_lo`` / ``_hi`` where it has an interval) and
    ``compare.<a>_vs_<b>.roc_auc_diff`` (with ``_lo`` / ``_hi``). Null values are left out."""
    out: dict[str, Any] = {}
    for row in cv_metrics.iter_rows(named=True):
        for m in METRICS:
            out.setdefault(f"{row['model']}.{m}", []).append({"value": row[m], "step": row["fold"]})
    pooled = [c for c in pooled_columns() if c not in ("threshold", "ci_level", "n_boot")]
    for row in summary.iter_rows(named=True):
        names = {f"{m}_mean": f"{row['model']}.{m}_mean" for m in METRICS}
        names |= {c: f"{row['model']}.pooled.{c}" for c in pooled}
        for column, name in names.items():
            if (point := _point(row.get(column))) is not None:
                out[name] = point
    for row in comparisons.iter_rows(named=True):
        pair = f"compare.{row['model_a']}_vs_{row['model_b']}"
        for c in ("roc_auc_diff", "roc_auc_diff_lo", "roc_auc_diff_hi"):
            if (point := _point(row[c])) is not None:
                out[f"{pair}.{c}"] = point
    return out


def make_plots(
    cv_predictions: pl.DataFrame,
    summary: pl.DataFrame,
    evaluation: EvaluationConfig | Mapping[str, Any],
) -> tuple[Figure, Figure, Figure, Figure, Figure]:
    """The figures of :data:`PLOTS`, in that order."""
    config = EvaluationConfig.from_params(evaluation)
    return (
        plots.model_comparison(summary),
        plots.roc_curves(cv_predictions),
        plots.pr_curves(cv_predictions),
        plots.reliability_diagram(cv_predictions, n_bins=config.calibration_bins),
        plots.confusion_matrices(cv_predictions, threshold=config.threshold),
    )


def run_facts(
    video_index: pl.DataFrame,
    folds: pl.DataFrame,
    corpus: CorpusConfig | Mapping[str, Any],
    training: TrainingConfig | Mapping[str, Any],
    parameters: Mapping[str, Any],
) -> dict[str, Any]:
    """What the report states about the run: corpus, counts, grid and config hash."""
    corpus = CorpusConfig.from_params(corpus)
    training = TrainingConfig.from_params(training)
    originals = folds.filter(pl.col("variant") == 0).unique("video_id")
    variants = folds.filter(pl.col("variant") > 0).unique("video_id")
    return {
        "Corpus": f"{corpus.kind} ({corpus.root})",
        "Index rows by status": dict(sorted(Counter(video_index["status"].to_list()).items())),
        "Originals in folds": dict(sorted(Counter(originals["label"].to_list()).items())),
        "Cascade groups": originals["group_id"].n_unique(),
        "Augmented variants (training only)": variants.height,
        "Folds": folds["fold"].n_unique(),
        "Models": ", ".join(training.models),
        "Config hash": config_hash(plain(parameters)),
    }


def report(
    summary: pl.DataFrame,
    cv_metrics: pl.DataFrame,
    comparisons: pl.DataFrame,
    slices: pl.DataFrame,
    robustness: pl.DataFrame,
    facts: dict[str, Any],
) -> tuple[str, str]:
    """The one-page report as HTML and Markdown (plots linked by their file names)."""
    links = {title: [f"{name}.png"] for name, title in PLOTS.items()}
    if robustness.height:
        links["Robustness (ROC-AUC per perturbation)"] = ["robustness.png"]
    args = (summary, cv_metrics, facts, links)
    tables = {"comparisons": comparisons, "slices": slices, "robustness": robustness}
    return render_report(*args, **tables), render_markdown(*args, **tables)
