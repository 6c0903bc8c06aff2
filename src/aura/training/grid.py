"""The cross-validation grid (models × folds) the training pipeline fans out over.

Kedro pipelines are static: they are built before a node ever sees a parameter. The grid's single
source of truth is still the resolved ``training`` parameters (``conf/base`` + ``--env`` +
``--params``, checked by :class:`~aura.training.config.TrainingConfig`): the project hook
:class:`aura.hooks.GridHooks` reads ``training.models`` and ``training.n_folds`` when the Kedro
context is created and calls :func:`set_grid` before the pipelines are built. Code that builds
pipelines without a session (unit tests) gets :data:`DEFAULT_GRID` (the schema's defaults) or
passes a grid explicitly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aura.training.config import DEFAULT_MODELS, TrainingConfig


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


#: The grid of TrainingConfig's defaults, for pipelines built without a Kedro session.
DEFAULT_GRID = Grid(models=DEFAULT_MODELS, n_folds=TrainingConfig.model_fields["n_folds"].default)
_current: Grid | None = None


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
    """The grid set by the project hook, else :data:`DEFAULT_GRID`."""
    return _current or DEFAULT_GRID


@dataclass(frozen=True)
class SkippedCell:
    """Stands in for a model when the cell's fold does not exist (``auto_reduce_folds``)."""

    model: str
    fold: int
    reason: str
