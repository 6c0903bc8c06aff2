"""Release pipeline: every grid cell's fold model + the out-of-fold predictions → ``detector``
(a versioned folder, see :class:`aura.datasets.DetectorDataset`), ``release_metrics`` and
``model_card`` (``MODEL_CARD.md``, from the evaluation and robustness tables)."""

from __future__ import annotations

from kedro.pipeline import Pipeline, node, pipeline

from aura.pipelines.binding import bind, fan_in_node
from aura.pipelines.release.nodes import (
    assemble_detector,
    choose_models,
    model_card,
    release_members,
)
from aura.training.grid import Grid, default_grid, namespace


def create_pipeline(grid: Grid | None = None, **kwargs: object) -> Pipeline:
    """Reads ``<model>.fold_<k>.model`` for every cell of ``grid`` (default: ``default_grid()``)."""
    grid = grid or default_grid()
    cells = grid.cells()
    members = fan_in_node(
        bind(release_members, cells=cells),
        [
            "release_models",
            "params:release",
            "params:training",
            "cv_folds",
            "model_input_table",
            "scaled_metadata",
            "video_index",
            "augmented_metadata",
        ],
        "release_members",
        name="release_members",
        cell_datasets=[f"{namespace(m, k)}.model" for m, k in cells],
    )
    return pipeline(
        [
            node(
                choose_models,
                ["cv_predictions", "params:release", "params:training"],
                "release_models",
                name="choose_release_models",
            ),
            members,
            node(
                assemble_detector,
                ["release_members", "cv_predictions", "cv_folds", "params:release", "parameters"],
                ["detector", "release_metrics"],
                name="assemble_detector",
            ),
            node(
                model_card,
                [
                    "detector",
                    "release_metrics",
                    "cv_summary",
                    "cv_comparisons",
                    "cv_slices",
                    "robustness_metrics",
                    "run_facts",
                    "params:corpus",
                ],
                "model_card",
                name="write_model_card",
            ),
        ],
        tags="release",
    )
