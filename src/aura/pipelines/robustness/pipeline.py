"""Robustness pipeline: every grid cell's fold model re-scores its validation originals after
each perturbation → ``robustness_predictions``, ``robustness_metrics``, ``robustness_plot``."""

from __future__ import annotations

from kedro.pipeline import Pipeline, node, pipeline

from aura.pipelines.binding import bind, fan_in_node
from aura.pipelines.robustness.nodes import (
    perturbation_metrics,
    perturbed_predictions,
    plot_robustness,
)
from aura.training.grid import Grid, default_grid, namespace


def create_pipeline(grid: Grid | None = None, **kwargs: object) -> Pipeline:
    """Reads ``<model>.fold_<k>.model`` for every cell of ``grid`` (default: ``default_grid()``)."""
    grid = grid or default_grid()
    cells = grid.cells()
    scoring = fan_in_node(
        bind(perturbed_predictions, cells=cells),
        ["cv_folds", "video_index", "parameters"],
        "robustness_predictions",
        name="robustness_predictions",
        cell_datasets=[f"{namespace(m, k)}.model" for m, k in cells],
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
