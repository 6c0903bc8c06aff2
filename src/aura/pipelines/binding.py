"""Node functions with some keyword arguments fixed (the fan-out's model, fold, cells), and the
nodes that read every grid cell's outputs."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

from kedro.pipeline import Node, node


def bind(fn: Callable[..., Any], **fixed: Any) -> Callable[..., Any]:
    """``fn`` with keyword arguments fixed, keeping its name, docstring and type hints.

    (A ``functools.partial`` has no name, so Kedro's logs and parameter validation warn.)
    """
    sig = inspect.signature(fn)

    @wraps(fn)
    def bound(*args: Any) -> Any:
        return fn(*args, **fixed)

    bound.__signature__ = sig.replace(  # type: ignore[attr-defined]
        parameters=[p for p in sig.parameters.values() if p.name not in fixed]
    )
    return bound


def fan_in_node(
    fn: Callable[..., Any],
    inputs: Sequence[str],
    outputs: str | list[str],
    *,
    name: str,
    cell_datasets: Sequence[str],
) -> Node:
    """A node reading ``inputs`` and then every grid cell's dataset in ``cell_datasets``.

    Kedro warns about dotted ``<model>.fold_<k>.*`` names read outside their namespace; reading
    every cell's outputs is the point of such a node, so that warning is silenced here.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="One or more dataset names contain")
        return node(fn, [*inputs, *cell_datasets], outputs, name=name)
