"""Robustness pipeline: every grid cell's fold model re-scores its validation originals after
each perturbation → ``robustness_predictions``, ``robustness_metrics``, ``robustness_plot``."""

from __future__ import annotations

import warnings

from kedro.pipeline import Pipeline, node, pipeline

from aura.pipelines.binding import bind
from aura.pipelines.robustness.nodes import (
    perturbation_metrics,
    perturbed_predictions,
    plot_robustness,
)
from aura.training.grid import Grid, current_grid, namespace


def create_pipeline(grid: Grid | None = None, **kwargs: object) -> Pipeline:
    """Reads ``<model>.fold_<k>.model`` for every cell of ``grid`` (default: the current one)."""
    grid = grid or current_grid()
    cells = grid.cells()
    with warnings.catch_warnings():
        # dotted "<model>.fold_<k>.model" names read outside their namespace, on purpose
        warnings.filterwarnings("ignore", message="One or more dataset names contain")
        scoring = node(
            bind(perturbed_predictions, cells=cells),
            [
                "cv_folds",
                "video_index",
                "parameters",
                *[f"{namespace(m, k)}.model" for m, k in cells],
            ],
            "robustness_predictions",
            name="robustness_predictions",
        )
    return pipeline(
        [
            scoring,
            node(
                perturbation_metrics,
                ["robustness_predictions", "cv_predictions", "params:evaluation"],
                "robustness_metrics",
                name="robustness_metrics",
            ),
            node(
                plot_robustness,
                ["robustness_metrics", "params:evaluation"],
                "robustness_plot",
                name="robustness_plot",
            ),
        ],
        tags="robustness",
    )
