"""The cross-validation grid (models × folds) the training pipeline fans out over.

Kedro pipelines are static: they are built before a node ever sees a parameter. The grid's single
source of truth is still the resolved ``training`` parameters (``conf/base`` + ``--env`` +
``--params``): the project hook :class:`aura.hooks.GridHooks` reads ``training.models`` and
``training.n_folds`` when the Kedro context is created and calls :func:`set_grid` before the
pipelines are built. Code that builds pipelines without a session (unit tests) gets
:data:`DEFAULT_GRID` or passes a grid explicitly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aura.models import BASELINES, list_models


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


def known_models() -> tuple[str, ...]:
    """Model names ``training.models`` may list: the feature baselines and the deep registry."""
    return (*BASELINES, *list_models())


#: conf/base's grid (a test keeps them equal), for pipelines built without a Kedro session.
DEFAULT_GRID = Grid(
    models=(
        "logistic_regression",
        "svm",
        "naive_cnn",
        "r3d18_inception",
        "vit_gru",
        "vit_transformer",
        "x3d",
        "slowfast",
    ),
    n_folds=5,
)
_current: Grid | None = None


def grid_from_params(training: Mapping[str, Any] | None) -> Grid:
    """Validate ``training.models`` / ``training.n_folds`` / ``training.model_params``.

    Raises ``ValueError`` naming the offending key, so a bad config fails before anything runs.
    """
    training = dict(training or {})
    models = training.get("models", list(DEFAULT_GRID.models))
    if isinstance(models, str) or not isinstance(models, list | tuple) or not models:
        raise ValueError(f"training.models must be a non-empty list of names, got {models!r}")
    if unknown := [m for m in models if m not in known_models()]:
        raise ValueError(
            f"training.models: unknown model(s) {unknown}; known: {', '.join(known_models())}"
        )
    if len(set(models)) != len(models):
        raise ValueError(f"training.models lists a model twice: {list(models)}")
    n_folds = training.get("n_folds", DEFAULT_GRID.n_folds)
    if isinstance(n_folds, bool) or not isinstance(n_folds, int) or n_folds < 2:
        raise ValueError(f"training.n_folds must be an integer >= 2, got {n_folds!r}")
    model_params = training.get("model_params") or {}
    if missing := [m for m in models if not isinstance(model_params.get(m), Mapping)]:
        raise ValueError(
            f"training.model_params.{missing[0]} is missing: every model in training.models "
            "needs a settings block (use {} for the defaults)"
        )
    return Grid(models=tuple(models), n_folds=n_folds)


def set_grid(grid: Grid | None) -> bool:
    """Make ``grid`` the one pipelines are built with; returns whether it changed."""
    global _current
    changed = grid != current_grid()
    _current = grid
    return changed


def current_grid() -> Grid:
    """The grid set by the project hook, else :data:`DEFAULT_GRID`."""
    return _current or DEFAULT_GRID
