"""Node functions with some keyword arguments fixed (the fan-out's model, fold, cells)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import wraps
from typing import Any


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
