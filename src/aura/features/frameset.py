"""The input every feature group reads: sampled frames plus cached intermediate planes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

from aura.video.frame_index import FrameIndex
from aura.video.probe import VideoInfo

NAN = float("nan")
#: Pixel budget of the spatial groups: frames beyond it are skipped (evenly), e.g. 8 of 16
#: frames at 1080p, all 16 up to 720p. Per-pixel statistics converge long before that.
SPATIAL_PIXELS = 16 * 1024 * 1024

# BT.601 luma weights.
_WR, _WG, _WB = 0.299, 0.587, 0.114


def luma(rgb: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """BT.601 luma of one RGB uint8 frame (H, W, 3) as float32 (H, W), exact to float rounding."""
    r, g, b = cv2.split(rgb)
    # y = (1-a) * (r*wr' + g*wg') + a*b with a = wb: two fused OpenCV passes, no float copy of rgb.
    k = 1.0 - _WB
    y = cv2.addWeighted(r, _WR / k, g, _WG / k, 0.0, dst=out, dtype=cv2.CV_32F)
    cv2.accumulateWeighted(b, y, _WB)
    return y


def median_residual(y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """High-pass noise residual: the plane minus its 3x3 median (float32)."""
    return cv2.subtract(y, cv2.medianBlur(y, 3), dst=out)


def total(x: np.ndarray) -> float:
    """Sum of a float32 array (NumPy pairwise summation).

    Not ``cv2.sumElems``: its result depends on the buffer's memory alignment, which
    would make features differ in the last bits from run to run.
    """
    return float(x.sum())


def sumsq(x: np.ndarray) -> float:
    """Sum of squares of a contiguous float array (BLAS dot, independent of alignment)."""
    v = x.reshape(-1)
    return float(np.dot(v, v))


def ratio(num: float, den: float) -> float:
    """``num / den``, NaN when undefined (zero or non-finite denominator)."""
    if not np.isfinite(den) or den == 0.0:
        return NAN
    return float(num / den)


def cv_over(values: np.ndarray | list[float]) -> float:
    """Coefficient of variation (sample std / mean) over frames; NaN with < 2 values or zero mean."""
    v = np.asarray(values, dtype=np.float64)
    if v.size < 2:
        return NAN
    return ratio(float(v.std(ddof=1)), float(v.mean()))


def mean_or_nan(values: np.ndarray | list[float]) -> float:
    v = np.asarray(values, dtype=np.float64)
    return float(v.mean()) if v.size else NAN


@dataclass
class FrameSet:
    """Sampled frames of one video and what is known about its coding.

    ``rgb`` is (T, H, W, 3) uint8 in coded orientation (so block grids line up), distinct
    frames in presentation order. ``info``/``index`` are None for frames held in memory.
    Derived planes are computed once, on first use, and shared by groups. Spatial groups
    read the frames in :attr:`spatial` (all of them unless ``max_pixels`` is exceeded);
    temporal ones read all.
    """

    rgb: np.ndarray
    pts_s: np.ndarray | None = None
    info: VideoInfo | None = None
    index: FrameIndex | None = None
    max_pixels: int | None = SPATIAL_PIXELS

    def __post_init__(self) -> None:
        if self.rgb.ndim != 4 or self.rgb.shape[-1] != 3 or self.rgb.dtype != np.uint8:
            raise ValueError(
                f"frames must be uint8 (T, H, W, 3), got {self.rgb.dtype} {self.rgb.shape}"
            )
        if self.rgb.shape[0] < 1:
            raise ValueError("need at least one frame")

    @property
    def n(self) -> int:
        return int(self.rgb.shape[0])

    @cached_property
    def spatial(self) -> np.ndarray:
        """Indices of the frames spatial groups use: evenly spaced, within ``max_pixels``."""
        t, h, w = self.rgb.shape[:3]
        k = t if self.max_pixels is None else max(1, min(t, self.max_pixels // max(h * w, 1)))
        return (2 * np.arange(k) + 1) * t // (2 * k)

    def spatial_luma(self) -> Iterator[np.ndarray]:
        """Luma planes (H, W) of the :attr:`spatial` frames, as views."""
        return (self.luma[t] for t in self.spatial)

    @cached_property
    def luma(self) -> np.ndarray:
        """(T, H, W) float32 BT.601 luma."""
        out = np.empty(self.rgb.shape[:3], np.float32)
        for t, frame in enumerate(self.rgb):
            luma(np.ascontiguousarray(frame), out[t])
        return out

    @cached_property
    def residual(self) -> np.ndarray:
        """(T, H, W) float32 luma noise residual (luma minus 3x3 median)."""
        out = np.empty_like(self.luma)
        for t, y in enumerate(self.luma):
            median_residual(y, out[t])
        return out
