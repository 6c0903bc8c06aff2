"""Temporal augmentations as an index plan over source frames, so a video can be streamed.

Each op is a ``(draw, apply)`` pair: ``draw(rng, cfg)`` gives JSON-native parameters that
do not depend on the video's length (fractions plus a seed); ``apply(indices, params)``
maps the current list of source frame indices to a new one. :func:`plan_indices` runs
the ops from ``list(range(n_frames))``. Frame rate is kept, so dropping frames shortens
the clip (a stutter) and duplicating lengthens it (a freeze).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, NamedTuple

import numpy as np
from pydantic import Field

from aura.augment.settings import OpSettings, Prob, Range, bounded

Params = dict[str, Any]


class TemporalOp(NamedTuple):
    """A temporal op: ``draw(rng, cfg) -> params`` and ``apply(indices, params) -> indices``."""

    draw: Callable[[np.random.Generator, Any], Params]  # (rng, the op's OpSettings)
    apply: Callable[[list[int], Mapping[str, Any]], list[int]]


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**63 - 1))


def _draw_drop(rng: np.random.Generator, cfg: FrameDropSettings) -> Params:
    lo, hi = cfg.fraction
    return {"fraction": float(lo + (hi - lo) * rng.random()), "seed": _seed(rng)}


def _apply_drop(indices: list[int], p: Mapping[str, Any]) -> list[int]:
    n = len(indices)
    # floor, so at most ``fraction`` of the frames go; at least one frame always stays.
    k = min(math.floor(float(p["fraction"]) * n), n - 1)
    if k <= 0:
        return list(indices)
    gone = set(np.random.default_rng(int(p["seed"])).choice(n, size=k, replace=False).tolist())
    return [f for pos, f in enumerate(indices) if pos not in gone]


def _draw_dup(rng: np.random.Generator, cfg: FrameDupSettings) -> Params:
    lo, hi = cfg.fraction
    return {
        "fraction": float(lo + (hi - lo) * rng.random()),
        "max_repeats": int(cfg.max_repeats),
        "seed": _seed(rng),
    }


def _apply_dup(indices: list[int], p: Mapping[str, Any]) -> list[int]:
    n = len(indices)
    frac = float(p["fraction"])
    k = min(n, max(1, math.floor(frac * n))) if frac > 0 and n else 0
    if k == 0:
        return list(indices)
    rng = np.random.default_rng(int(p["seed"]))
    chosen = rng.choice(n, size=k, replace=False)
    extra = rng.integers(1, int(p["max_repeats"]) + 1, size=k)
    repeats = dict(zip(chosen.tolist(), extra.tolist(), strict=True))
    out: list[int] = []
    for pos, f in enumerate(indices):
        out.extend([f] * (1 + repeats.get(pos, 0)))
    return out


def _draw_reverse(rng: np.random.Generator, cfg: Mapping[str, Any]) -> Params:
    return {}


def _apply_reverse(indices: list[int], p: Mapping[str, Any]) -> list[int]:
    return indices[::-1]


#: Temporal ops in the order they are applied.
TEMPORAL_OPS: dict[str, TemporalOp] = {
    "frame_drop": TemporalOp(_draw_drop, _apply_drop),
    "frame_dup": TemporalOp(_draw_dup, _apply_dup),
    "reverse": TemporalOp(_draw_reverse, _apply_reverse),
}


class FrameDropSettings(OpSettings):
    fraction: Annotated[Range, bounded(0.0, 0.9)] = (0.05, 0.25)  # of the frames dropped


class FrameDupSettings(OpSettings):
    fraction: Annotated[Range, bounded(0.0, 1.0)] = (0.02, 0.1)  # of the frames repeated
    max_repeats: int = Field(2, ge=1, le=30)


class ReverseSettings(OpSettings):
    p: Prob = 0.1


#: Settings of each temporal op (``enabled`` and ``p``, the chance a variant gets the op).
TEMPORAL_SETTINGS: dict[str, type[OpSettings]] = {
    "frame_drop": FrameDropSettings,
    "frame_dup": FrameDupSettings,
    "reverse": ReverseSettings,
}


def plan_indices(
    n_frames: int, ops: Iterable[tuple[str, Mapping[str, Any]]] | Mapping[str, Mapping[str, Any]]
) -> list[int]:
    """Source frame index for each output frame after applying ``ops`` in the given order.

    ``ops`` is a sequence of ``(name, params)`` pairs or a mapping name -> params.
    """
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}")
    items = ops.items() if isinstance(ops, Mapping) else ops
    indices = list(range(n_frames))
    for name, params in items:
        if name not in TEMPORAL_OPS:
            raise ValueError(f"unknown temporal op {name!r} (known: {', '.join(TEMPORAL_OPS)})")
        indices = TEMPORAL_OPS[name].apply(indices, params)
    return indices


def is_forward(plan: Iterable[int]) -> bool:
    """True when the plan never goes back, so frames can be streamed in source order."""
    last = -1
    for i in plan:
        if i < last:
            return False
        last = i
    return True
