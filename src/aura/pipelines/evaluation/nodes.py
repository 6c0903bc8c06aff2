"""Evaluation nodes: gather the grid's out-of-fold predictions and metrics, plot, report, track."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from typing import Any

import polars as pl
from matplotlib.figure import Figure

from aura.config import plain
from aura.evaluation import METRICS, per_platform, plots, summary_table
from aura.evaluation.report import render_markdown, render_report
from aura.pipelines.config import CorpusConfig, EvaluationConfig
from aura.tracking import config_hash
from aura.training.config import TrainingConfig

log = logging.getLogger(__name__)

#: Plot datasets (``<name>_plot`` → ``data/08_reporting/<name>.png``) and their report titles.
PLOTS = {
    "model_comparison": "Model comparison",
    "roc_curves": "ROC curves (folds overlaid)",
    "pr_curves": "Precision-recall curves (folds overlaid)",
    "reliability": "Reliability diagram",
    "confusion_matrices": "Confusion matrices (pooled over folds)",
}


def gather(*tables: pl.DataFrame) -> pl.DataFrame:
    """Concatenate the cells' tables (predictions or metrics), in grid order."""
    filled = [t for t in tables if t.height]
    return pl.concat(filled, how="vertical_relaxed") if filled else tables[0]


def cv_summary(cv_metrics: pl.DataFrame) -> pl.DataFrame:
    """Per model: mean and std of each metric over folds."""
    return summary_table(cv_metrics)


def platform_metrics(
    cv_predictions: pl.DataFrame, evaluation: EvaluationConfig | Mapping[str, Any]
) -> pl.DataFrame:
    """Metrics per (model, platform) where the platform holds both classes."""
    config = EvaluationConfig.from_params(evaluation)
    return per_platform(cv_predictions, threshold=config.threshold)


def tracked_metrics(cv_metrics: pl.DataFrame, summary: pl.DataFrame) -> dict[str, Any]:
    """MLflow metrics: ``<model>.<metric>`` per fold (step = fold) and ``<model>.<metric>_mean``."""
    out: dict[str, Any] = {}
    for row in cv_metrics.iter_rows(named=True):
        for m in METRICS:
            out.setdefault(f"{row['model']}.{m}", []).append({"value": row[m], "step": row["fold"]})
    for row in summary.iter_rows(named=True):
        for m in METRICS:
            if row[f"{m}_mean"] is not None:
                out[f"{row['model']}.{m}_mean"] = {"value": row[f"{m}_mean"], "step": 0}
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
    platform: pl.DataFrame,
    facts: dict[str, Any],
) -> tuple[str, str]:
    """The one-page report as HTML and Markdown (plots linked by their file names)."""
    links = {title: [f"{name}.png"] for name, title in PLOTS.items()}
    args = (summary, cv_metrics, platform, facts, links)
    return render_report(*args), render_markdown(*args)
