"""The cross-validation grid (models × folds) the training pipeline fans out over.

Kedro pipelines are static: they are built before a node ever sees a parameter. The grid's single
source of truth is still the resolved ``training`` parameters (``conf/base`` + ``--env`` +
``--params``, checked by :class:`~aura.training.config.TrainingConfig`): the project hook
:class:`aura.hooks.GridHooks` reads ``training.models`` and ``training.n_folds`` when the Kedro
context is created and calls :func:`set_grid` before the pipelines are built. Code that builds
pipelines without a session (unit tests) gets :func:`default_grid` (the schema's defaults) or
passes a grid explicitly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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


_current: Grid | None = None


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


def set_grid(grid: Grid | None) -> bool:
    """Make ``grid`` the one pipelines are built with; returns whether it changed."""
    global _current
    changed = grid != current_grid()
    _current = grid
    return changed


def current_grid() -> Grid:
    """The grid set by the project hook, else :func:`default_grid`."""
    return _current or default_grid()
