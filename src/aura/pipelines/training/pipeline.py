"""Training pipeline (stage 5): folds, then one namespaced modular pipeline per (model, fold).

The grid comes from the resolved ``training`` parameters (see :mod:`aura.training.grid`); change
``training.models`` / ``training.n_folds`` in ``conf/<env>/parameters_training.yml`` or with
``--params``. Run one cell with ``kedro run --pipelines=training --namespaces=svm.fold_0``.
A cell's nodes and inputs follow its model's kind (:func:`aura.models.model_entry`), so a newly
registered model needs no edit here.
"""

from __future__ import annotations

from collections.abc import Callable

from kedro.pipeline import Node, Pipeline, node, pipeline

from aura.models import model_entry
from aura.pipelines.binding import bind
from aura.pipelines.training.deep import predict_clip_cell, train_clip_cell
from aura.pipelines.training.metadata import video_metadata
from aura.pipelines.training.nodes import (
    cv_folds,
    model_input,
    predict_fold,
    score_fold,
    train_model,
)
from aura.training.grid import Grid, default_grid, namespace


def _features_nodes(model: str, fold: int) -> list[Node]:
    return [
        node(
            bind(train_model, model=model, fold=fold),
            ["cv_folds", "model_input_table", "params:model_params", "params:seed"],
            "model",
            name="train",
        ),
        node(
            bind(predict_fold, model=model, fold=fold),
            ["model", "cv_folds", "model_input_table", "video_index"],
            "predictions",
            name="predict",
        ),
    ]


def _clip_nodes(model: str, fold: int) -> list[Node]:
    return [
        node(
            bind(train_clip_cell, model=model, fold=fold),
            [
                "cv_folds",
                "scaled_metadata",
                "video_index",
                "augmented_metadata",
                "params:model_params",
                "params:trainer",
                "params:seed",
                "params:checkpoint_dir",
            ],
            "model",
            name="train",
        ),
        node(
            bind(predict_clip_cell, model=model, fold=fold),
            ["model", "cv_folds", "scaled_metadata", "video_index"],
            "predictions",
            name="predict",
        ),
    ]


#: The train → predict nodes of a cell, per model kind; they read the kind's ``cell_inputs``,
#: ``params:model_params`` (``training.model_params.<model>``) and other ``training.*`` values.
CELL_NODES: dict[str, Callable[[str, int], list[Node]]] = {
    "features": _features_nodes,
    "clips": _clip_nodes,
}


def create_cell(model: str, fold: int) -> Pipeline:
    """``<model>.fold_<k>``: train → predict → score, outputs ``<ns>.model``, ``.predictions``,
    ``.metrics``. What the cell reads follows the model's kind: feature models the
    ``model_input_table``, clip models the scaled videos or the native files."""
    kind = model_entry(model).kind
    cell = pipeline(
        [
            *CELL_NODES[kind.name](model, fold),
            node(score_fold, ["predictions", "params:threshold"], "metrics", name="score"),
        ]
    )
    parameters = {
        p: f"params:training.{p.removeprefix('params:')}"
        for p in cell.inputs()
        if p.startswith("params:")
    }
    parameters["params:model_params"] = f"params:training.model_params.{model}"
    parameters["params:threshold"] = "params:evaluation.threshold"
    return pipeline(
        cell,
        namespace=namespace(model, fold),
        inputs=set(kind.cell_inputs),
        parameters=parameters,
    )


def create_pipeline(grid: Grid | None = None, **kwargs: object) -> Pipeline:
    """``cv_folds``, ``video_metadata`` and ``model_input_table`` (features + ``meta_*``), then
    every cell of ``grid`` (default: ``default_grid()``)."""
    grid = grid or default_grid()
    shared = pipeline(
        [
            node(
                cv_folds,
                ["video_index", "augmented_metadata", "params:training"],
                "cv_folds",
                name="make_cv_folds",
            ),
            node(
                video_metadata,
                [
                    "video_index",
                    "augmented_metadata",
                    "params:scaling",  # scaling.target_size: the letterbox padding share
                    "params:executor",
                    "params:cache_dir",
                    "params:ingest",  # ingest.max_pixels
                ],
                "video_metadata",
                name="probe_video_metadata",
            ),
            node(
                model_input,
                ["features_stage2", "features_stage4", "cv_folds", "video_metadata"],
                "model_input_table",
                name="build_model_input",
            ),
        ]
    )
    cells = [create_cell(m, k) for m, k in grid.cells()]
    return pipeline(sum(cells, shared), tags="training")
