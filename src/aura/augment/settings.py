"""Settings of the augmentation ops: every op has ``enabled`` and ``p``, plus its own ranges.

Each op's settings are a :class:`OpSettings` model (the one config idiom, :mod:`aura.config`);
a ``[low, high]`` range is a :data:`Range` checked by :func:`bounded`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from aura.config import Section

#: A probability in [0, 1].
Prob = Annotated[float, Field(ge=0, le=1)]
#: A ``[low, high]`` pair (given as a two-item list).
Range = tuple[float, float]


def bounded(lo: float, hi: float) -> AfterValidator:
    """Validator of a :data:`Range` with ``lo <= low <= high <= hi``."""

    def check(value: Range) -> Range:
        low, high = value
        if not lo <= low <= high <= hi:
            raise ValueError(f"must be [low, high] with {lo} <= low <= high <= {hi}")
        return value

    return AfterValidator(check)


class OpSettings(Section):
    """What every op has: whether it may be drawn, and the chance a variant gets it."""

    enabled: bool = True
    p: Prob = 0.2
