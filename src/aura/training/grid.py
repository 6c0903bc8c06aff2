"""The cross-validation grid (models × folds) the training pipeline fans out over.

Kedro pipelines are static: they are built before a node ever sees a parameter. The grid is a
value of the resolved ``training`` parameters (``conf/base`` + ``--env`` + ``--params``, checked by
:class:`~aura.training.config.TrainingConfig`), so any process rebuilds it from a
:class:`ConfigSource` (conf folder, env, runtime params) with :func:`load_grid`; no module holds
it. The project hook :class:`aura.hooks.GridHooks` builds the session's pipelines from its
context's source. Code that builds pipelines without a session (unit tests) passes a grid, or
gets :func:`default_grid` (the schema's defaults).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from aura.training.config import TrainingConfig


@dataclass(frozen=True)
class Grid:
    """Models and the number of folds; one namespace ``<model>.fold_<k>`` per cell."""

    models: tuple[str, ...]
    n_folds: int

    def cells(self) -> list[tuple[str, int]]:
        """``(model, fold)`` pairs in run order (model-major)."""
        return [(m, k) for m in self.models for k in range(self.n_folds)]

    def namespaces(self) -> list[str]:
        return [namespace(m, k) for m, k in self.cells()]


def namespace(model: str, fold: int) -> str:
    """The Kedro namespace of one grid cell, e.g. ``svm.fold_0``."""
    return f"{model}.fold_{fold}"


def default_grid() -> Grid:
    """The grid of TrainingConfig's defaults (every registered model), for pipelines built
    without a Kedro session."""
    return grid_from_params(None)


def grid_from_params(training: TrainingConfig | Mapping[str, Any] | None) -> Grid:
    """The grid of the ``training`` parameters, validated by :class:`TrainingConfig`.

    Raises :class:`~aura.config.ConfigError` naming the offending key, so a bad config fails
    before anything runs.
    """
    config = TrainingConfig.from_params(training)
    return Grid(models=config.models, n_folds=config.n_folds)


@dataclass(frozen=True)
class ConfigSource:
    """Where a run's parameters come from: small, hashable and picklable, so a Dask worker (or
    any process) can rebuild the run's grid with :meth:`grid` instead of being sent it."""

    conf_source: str
    env: str | None = None
    runtime_params: tuple[tuple[str, Any], ...] = field(default=())

    @classmethod
    def of(
        cls, conf_source: str | Path, env: str | None = None, runtime_params: Mapping | None = None
    ) -> ConfigSource:
        return cls(str(conf_source), env, _frozen(runtime_params or {}))

    @classmethod
    def from_context(cls, context: Any) -> ConfigSource:
        """The source of a :class:`~kedro.framework.context.KedroContext` (its config loader)."""
        loader = context.config_loader
        return cls.of(loader.conf_source, loader.env, loader.runtime_params)

    def params(self) -> dict[str, Any]:
        """The merged ``parameters`` (base + env + runtime), as Kedro's session loads them."""
        return dict(_loader(self)["parameters"])

    def grid(self) -> Grid:
        return _load_grid(self)


def load_grid(
    conf_source: str | Path, env: str | None = None, runtime_params: Mapping | None = None
) -> Grid:
    """The grid of the resolved ``training`` parameters of ``conf_source`` + ``env`` +
    ``runtime_params``; the same in every process."""
    return _load_grid(ConfigSource.of(conf_source, env, runtime_params))


@lru_cache(maxsize=8)
def _load_grid(source: ConfigSource) -> Grid:
    return grid_from_params(source.params().get("training"))


def _loader(source: ConfigSource) -> Any:
    from kedro.framework.project import settings

    args = dict(settings.CONFIG_LOADER_ARGS)
    return settings.CONFIG_LOADER_CLASS(
        conf_source=source.conf_source,
        env=source.env,
        runtime_params=_thawed(source.runtime_params),
        **args,
    )


def _frozen(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _frozen(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return ("__list__", *(_frozen(v) for v in value))
    return value


def _thawed(items: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    def thaw(v: Any) -> Any:
        if isinstance(v, tuple) and v[:1] == ("__list__",):
            return [thaw(x) for x in v[1:]]
        if isinstance(v, tuple) and all(isinstance(x, tuple) and len(x) == 2 for x in v):
            return _thawed(v)
        return v

    return {k: thaw(v) for k, v in items}
