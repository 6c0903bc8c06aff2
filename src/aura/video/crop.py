"""A fixed-size window of the upright frame at native resolution (no resizing).

A :class:`Crop` of side ``S`` is placed at the same spot in every frame of a clip: centred, or at
a position given as fractions ``(y, x)`` in ``[0, 1)`` of the possible offsets, so that a
uniform draw of the fractions is a uniform draw over the ``L - S + 1`` whole-pixel offsets of
a side of length ``L``. A side shorter than ``S`` is taken whole and zero-padded to ``S``,
centred (the odd pixel of padding going to the bottom/right, as with letterboxing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Crop:
    """``size`` x ``size`` pixels at ``at`` = (y, x) fractions in [0, 1] (None: centred)."""

    size: int
    at: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or int(self.size) != self.size or self.size < 1:
            raise ValueError(f"crop size must be an integer >= 1, got {self.size!r}")
        if self.at is not None and (
            len(self.at) != 2 or not all(0.0 <= float(f) <= 1.0 for f in self.at)
        ):
            raise ValueError(f"crop position must be two fractions in [0, 1], got {self.at!r}")


@dataclass(frozen=True)
class CropBox:
    """Where a crop lies in an upright ``width`` x ``height`` frame and in its output square.

    Source rows ``[top, top + height)`` and columns ``[left, left + width)`` are copied to
    ``[pad_top, pad_top + height)`` x ``[pad_left, pad_left + width)`` of the ``size`` square.
    """

    top: int
    left: int
    height: int
    width: int
    size: int
    pad_top: int
    pad_left: int

    @property
    def padding(self) -> tuple[int, int, int, int]:
        """``(top, bottom, left, right)`` zero padding of the output square."""
        bottom = self.size - self.height - self.pad_top
        right = self.size - self.width - self.pad_left
        return self.pad_top, bottom, self.pad_left, right


def _offset(length: int, size: int, at: float | None) -> tuple[int, int, int]:
    """(source offset, taken length, output offset) along one side."""
    if length <= size:
        return 0, length, (size - length) // 2
    room = length - size
    if at is None:
        return room // 2, size, 0
    return min(math.floor(float(at) * (room + 1)), room), size, 0


def crop_box(width: int, height: int, crop: Crop) -> CropBox:
    """The :class:`CropBox` of ``crop`` in an upright ``width`` x ``height`` frame."""
    if width < 1 or height < 1:
        raise ValueError(f"width and height must be >= 1, got {width}, {height}")
    fy, fx = crop.at if crop.at is not None else (None, None)
    top, h, pad_top = _offset(height, crop.size, fy)
    left, w, pad_left = _offset(width, crop.size, fx)
    return CropBox(top, left, h, w, crop.size, pad_top, pad_left)
