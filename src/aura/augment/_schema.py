"""A tiny schema for op settings: a default and bounds per key, checked with key-naming errors."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple


class Field(NamedTuple):
    """One setting of an op: ``kind`` is ``bool``, ``prob``, ``float``, ``int`` or ``range``.

    A ``range`` is a ``[low, high]`` pair with ``lo <= low <= high <= hi``.
    """

    default: Any
    kind: str
    lo: float | None = None
    hi: float | None = None


Schema = Mapping[str, Field]


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{key} must be finite, got {value!r}")
    return value


def _bounded(key: str, value: float, lo: float | None, hi: float | None) -> None:
    if lo is not None and value < lo:
        raise ValueError(f"{key} must be >= {lo}, got {value!r}")
    if hi is not None and value > hi:
        raise ValueError(f"{key} must be <= {hi}, got {value!r}")


def check_field(key: str, value: Any, field: Field) -> Any:
    """Return ``value`` normalised (float, int, bool or ``[low, high]``) or raise naming ``key``."""
    if field.kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{key} must be true or false, got {value!r}")
        return value
    if field.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{key} must be an integer, got {value!r}")
        _bounded(key, value, field.lo, field.hi)
        return value
    if field.kind in ("float", "prob"):
        lo, hi = (0.0, 1.0) if field.kind == "prob" else (field.lo, field.hi)
        v = float(_number(key, value))
        _bounded(key, v, lo, hi)
        return v
    if field.kind == "range":
        if isinstance(value, str | bytes) or not hasattr(value, "__len__") or len(value) != 2:
            raise ValueError(f"{key} must be a [low, high] pair, got {value!r}")
        low, high = (float(_number(key, v)) for v in value)
        _bounded(key, low, field.lo, field.hi)
        _bounded(key, high, field.lo, field.hi)
        if low > high:
            raise ValueError(f"{key} must be [low, high] with low <= high, got {list(value)!r}")
        return [low, high]
    raise AssertionError(f"unknown field kind {field.kind!r}")  # a bug in a schema, not in input


def check_section(prefix: str, given: Any, schema: Schema) -> dict[str, Any]:
    """Validate a mapping against ``schema``, filling defaults; unknown keys are errors."""
    if given is None:
        given = {}
    if not isinstance(given, Mapping):
        raise ValueError(f"{prefix} must be a mapping, got {type(given).__name__}")
    unknown = sorted(set(map(str, given)) - set(schema))
    if unknown:
        raise ValueError(
            f"{prefix}.{unknown[0]} is not a known setting (known: {', '.join(sorted(schema))})"
        )
    out = {}
    for name, field in schema.items():
        value = given.get(name, field.default)
        out[name] = check_field(f"{prefix}.{name}", value, field)
    return out
