"""Evaluation pipeline: out-of-fold predictions of every grid cell → pooled metrics with
cascade-bootstrap intervals, paired comparisons, slices, plots, report."""

from __future__ import annotations

from kedro.pipeline import Pipeline, node, pipeline

from aura.pipelines.binding import fan_in_node
from aura.pipelines.evaluation.nodes import (
    PLOTS,
    cv_comparisons,
    cv_slices,
    cv_summary,
    gather,
    make_plots,
    report,
    run_facts,
    tracked_metrics,
)
from aura.training.grid import Grid, default_grid


def create_pipeline(grid: Grid | None = None, **kwargs: object) -> Pipeline:
    """Reads ``<model>.fold_<k>.predictions`` / ``.metrics`` for every cell of ``grid``."""
    grid = grid or default_grid()
    spaces = grid.namespaces()
    gathered = [
        fan_in_node(
            gather,
            [],
            "cv_predictions",
            name="gather_predictions",
            cell_datasets=[f"{ns}.predictions" for ns in spaces],
        ),
        fan_in_node(
            gather,
            [],
            "cv_metrics",
            name="gather_metrics",
            cell_datasets=[f"{ns}.metrics" for ns in spaces],
        ),
    ]
    return pipeline(
        [
            *gathered,
            node(
                cv_summary,
                ["cv_predictions", "cv_metrics", "params:evaluation"],
                "cv_summary",
                name="summarise_models",
            ),
            node(
                cv_comparisons,
                ["cv_predictions", "params:evaluation"],
                "cv_comparisons",
                name="compare_models",
            ),
            node(
                cv_slices,
                ["cv_predictions", "video_index", "params:evaluation"],
                "cv_slices",
                name="slice_metrics",
            ),
            node(
                tracked_metrics,
                ["cv_metrics", "cv_summary", "cv_comparisons"],
                "cv_tracked_metrics",
                name="track_metrics",
            ),
            node(
                make_plots,
                ["cv_predictions", "cv_summary", "params:evaluation"],
                [f"{name}_plot" for name in PLOTS],
                name="plot",
            ),
            node(
                run_facts,
                ["video_index", "cv_folds", "params:corpus", "params:training", "parameters"],
                "run_facts",
                name="run_facts",
            ),
            node(
                report,
                [
                    "cv_summary",
                    "cv_metrics",
                    "cv_comparisons",
                    "cv_slices",
                    "robustness_metrics",
                    "run_facts",
                ],
                ["report_html", "report_md"],
                name="write_report",
            ),
        ],
        tags="evaluation",
    )
