"""Robustness nodes: perturb and re-score, then ROC-AUC per perturbation and its plot. The work
is :mod:`aura.evaluation.robustness_scoring` / :mod:`aura.evaluation.robustness_metrics`'s."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
from matplotlib.figure import Figure

from aura.evaluation.robustness_metrics import (
    empty_metrics,
    placeholder_plot,
    robustness_metrics,
    robustness_plot,
)
from aura.evaluation.robustness_scoring import (
    empty_predictions,
    score_perturbed,
    select_videos,
    union_spec,
)
from aura.parameters import resolve
from aura.pipelines.config import EvaluationConfig

log = logging.getLogger(__name__)

DISABLED = "Robustness report disabled (evaluation.robustness.enabled: false)"


def perturbed_predictions(
    cv_folds: pl.DataFrame,
    video_index: pl.DataFrame,
    parameters: Mapping[str, Any],
    *artifacts: Any,
    cells: Sequence[tuple[str, int]],
) -> pl.DataFrame:
    """``robustness_predictions``: each fold's validation originals (or a subset) perturbed
    and re-scored by that fold's model of every model; ``artifacts`` are the
    ``<model>.fold_<k>.model`` datasets of ``cells``, in that order."""
    config = resolve(parameters)
    settings = config.evaluation.robustness
    if not settings.enabled:
        log.info("robustness: disabled (evaluation.robustness.enabled: false)")
        return empty_predictions()
    if len(artifacts) != len(cells):
        raise ValueError(f"got {len(artifacts)} fold models for {len(cells)} grid cells")
    selected = select_videos(cv_folds, video_index, settings.max_videos, settings.seed)
    log.info(
        "robustness: %d validation originals x %d perturbations",
        selected.height,
        len(settings.perturbations),
    )
    return score_perturbed(
        dict(zip(cells, artifacts, strict=True)),
        selected,
        settings.perturbations,
        union_spec(artifacts, config),
        cache_dir=config.cache_dir,
        executor=config.executor,
    )


def perturbation_metrics(
    robustness_predictions: pl.DataFrame,
    cv_predictions: pl.DataFrame,
    evaluation: EvaluationConfig | Mapping[str, Any],
) -> pl.DataFrame:
    """``robustness_metrics``: pooled ROC-AUC with its interval per (model, perturbation)."""
    config = EvaluationConfig.from_params(evaluation)
    if not config.robustness.enabled:
        return empty_metrics()
    return robustness_metrics(
        robustness_predictions,
        cv_predictions,
        config.robustness.perturbations,
        n_boot=config.bootstrap,
        seed=config.seed,
        level=config.ci_level,
    )


def plot_robustness(
    metrics: pl.DataFrame, evaluation: EvaluationConfig | Mapping[str, Any]
) -> Figure:
    """``robustness_plot``; a placeholder saying so when the report is disabled."""
    config = EvaluationConfig.from_params(evaluation)
    if not config.robustness.enabled:
        return placeholder_plot(DISABLED)
    return robustness_plot(metrics)
