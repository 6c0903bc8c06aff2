"""Project hooks: build the training grid from the resolved config; tag MLflow runs."""

from __future__ import annotations

import logging
from typing import Any

from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl
from kedro.framework.project import pipelines
from kedro.io import DataCatalog
from kedro.pipeline import Node, Pipeline

from aura.tracking import config_hash, git_commit
from aura.training.grid import grid_from_params, set_grid

log = logging.getLogger(__name__)


class GridHooks:
    """Build the models × folds fan-out from ``training`` in the resolved parameters.

    Reads the config loader (base + env + ``--params``) directly: ``context.params`` would build
    the pipelines first, with the grid not yet set.
    """

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        training = context.config_loader["parameters"].get("training")
        grid = grid_from_params(training)
        if set_grid(grid):
            # pipelines already built with another grid (e.g. by a plugin) are rebuilt on next use
            pipelines.configure("aura.pipeline_registry")
        log.debug("training grid: %s × %d folds", ", ".join(grid.models), grid.n_folds)


class TrackingHooks:
    """Tag the MLflow run kedro-mlflow opened with the git commit and the config hash, and record
    what each deep-model fit did (pretrained weights or scratch, batch size used, epochs) as
    params ``<model>.fold_<k>.<key>``."""

    def __init__(self) -> None:
        self._project_path: str | None = None

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        self._project_path = str(context.project_path)

    # trylast: kedro-mlflow's before_pipeline_run must have started the run already
    @hook_impl(trylast=True)
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: DataCatalog
    ) -> None:
        import mlflow

        if mlflow.active_run() is None:
            return
        params = catalog.load("parameters")
        commit = git_commit(self._project_path or run_params.get("project_path") or ".")
        mlflow.set_tags({"config_hash": config_hash(params), "git_commit": commit or "unknown"})

    @hook_impl
    def after_node_run(self, node: Node, outputs: dict[str, Any]) -> None:
        import mlflow

        if mlflow.active_run() is None or not node.namespace:
            return
        for value in outputs.values():
            if isinstance(value, dict) and isinstance(value.get("fit"), dict):
                mlflow.log_params({f"{node.namespace}.{k}": v for k, v in value["fit"].items()})
