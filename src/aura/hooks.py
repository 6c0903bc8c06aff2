"""Project hooks: validate the parameters and build the training grid when Kedro starts; tag
MLflow runs and log the resolved parameters."""

from __future__ import annotations

import logging
from typing import Any

from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl
from kedro.framework.project import pipelines
from kedro.io import DataCatalog
from kedro.pipeline import Node, Pipeline

from aura.models.artifacts import TrainedClipModel
from aura.parameters import flat, resolve
from aura.tracking import git_commit
from aura.training.grid import ConfigSource, grid_from_params

log = logging.getLogger(__name__)


class GridHooks:
    """Validate every parameter block and build the session's pipelines with the models × folds
    fan-out of its ``training`` parameters.

    Runs when the Kedro context is created, so an unknown or bad key (``scaling.target_sise``)
    stops ``kedro run`` with a :class:`~aura.config.ConfigError` naming it before any node runs.
    The grid is not stored anywhere: it is a value of the context's
    :class:`~aura.training.grid.ConfigSource` (conf folder, env, ``--params``), which any other
    process rebuilds with :func:`~aura.training.grid.load_grid`. Kedro's pipeline registry is
    filled with the pipelines of that grid (it calls ``register_pipelines()`` without arguments,
    so it cannot be handed the session's config).
    """

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        from aura.pipeline_registry import register_pipelines

        config = resolve(context.config_loader["parameters"])
        grid = grid_from_params(config.training)
        built = register_pipelines(grid)
        pipelines.configure(None)  # serve these, not a fresh register_pipelines() call
        pipelines.update(built)
        log.debug(
            "training grid of %s: %s × %d folds",
            ConfigSource.from_context(context),
            ", ".join(grid.models),
            grid.n_folds,
        )


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
        config = resolve(catalog.load("parameters"))
        commit = git_commit(self._project_path or run_params.get("project_path") or ".")
        mlflow.set_tags({"config_hash": config.hash(), "git_commit": commit or "unknown"})
        # every resolved value, defaults included, as its own param (training.model_params.svm.C)
        mlflow.log_params(flat(config.to_params()))

    @hook_impl
    def after_node_run(self, node: Node, outputs: dict[str, Any]) -> None:
        import mlflow

        if mlflow.active_run() is None or not node.namespace:
            return
        for value in outputs.values():
            if isinstance(value, TrainedClipModel) and value.fit is not None:
                params = value.fit.as_params()
                for k, v in (value.config.calibration or {}).items():
                    params[f"calibration_{k}"] = v  # the fold's Platt map
                mlflow.log_params({f"{node.namespace}.{k}": v for k, v in params.items()})
