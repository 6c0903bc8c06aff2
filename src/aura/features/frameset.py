"""The input every feature group reads: sampled frames plus cached intermediate planes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
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
    Spatial groups read the frames in :attr:`spatial` (all of them unless ``max_pixels`` is
    exceeded); temporal ones read all, a few at a time. Derived planes
    (:meth:`luma_of`, :meth:`residual_of`) are kept for the spatial frames only, so beside
    ``rgb`` at most ``2 * max_pixels`` float32 values are held, plus the frames a group
    is working on; the rest are made afresh when asked for (the same values).
    """

    rgb: np.ndarray
    pts_s: np.ndarray | None = None
    info: VideoInfo | None = None
    index: FrameIndex | None = None
    max_pixels: int | None = SPATIAL_PIXELS
    indices: np.ndarray | None = None  # each frame's number in the video; None: consecutive
    _lumas: dict[int, np.ndarray] = field(default_factory=dict, init=False, repr=False)
    _residuals: dict[int, np.ndarray] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.rgb.ndim != 4 or self.rgb.shape[-1] != 3 or self.rgb.dtype != np.uint8:
            raise ValueError(
                f"frames must be uint8 (T, H, W, 3), got {self.rgb.dtype} {self.rgb.shape}"
            )
        if self.rgb.shape[0] < 1:
            raise ValueError("need at least one frame")
        if self.indices is not None and self.indices.shape != (self.rgb.shape[0],):
            raise ValueError(f"{self.rgb.shape[0]} frames but {self.indices.size} frame numbers")

    @property
    def n(self) -> int:
        return int(self.rgb.shape[0])

    @cached_property
    def frame_numbers(self) -> np.ndarray:
        """Each frame's number in the video (0, 1, ... for frames held in memory)."""
        return np.arange(self.n, dtype=np.int64) if self.indices is None else self.indices

    @cached_property
    def spatial(self) -> np.ndarray:
        """Indices of the frames spatial groups use: evenly spaced, within ``max_pixels``."""
        t, h, w = self.rgb.shape[:3]
        k = t if self.max_pixels is None else max(1, min(t, self.max_pixels // max(h * w, 1)))
        return (2 * np.arange(k) + 1) * t // (2 * k)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(T, H, W) of the frames."""
        t, h, w = self.rgb.shape[:3]
        return int(t), int(h), int(w)

    @cached_property
    def _spatial_set(self) -> frozenset[int]:
        return frozenset(self.spatial.tolist())

    def spatial_luma(self) -> Iterator[np.ndarray]:
        """Luma planes (H, W) of the :attr:`spatial` frames."""
        return (self.luma_of(int(t)) for t in self.spatial)

    def luma_of(self, t: int) -> np.ndarray:
        """(H, W) float32 BT.601 luma of frame ``t``."""
        y = self._lumas.get(t)
        if y is None:
            y = luma(np.ascontiguousarray(self.rgb[t]))
            if t in self._spatial_set:
                self._lumas[t] = y
        return y

    def residual_of(self, t: int) -> np.ndarray:
        """(H, W) float32 luma noise residual (luma minus 3x3 median) of frame ``t``."""
        r = self._residuals.get(t)
        if r is None:
            r = median_residual(self.luma_of(t))
            if t in self._spatial_set:
                self._residuals[t] = r
        return r

    @property
    def luma(self) -> np.ndarray:
        """(T, H, W) float32 BT.601 luma of every frame (T planes at once: prefer :meth:`luma_of`)."""
        return np.stack([self.luma_of(t) for t in range(self.n)])

    @property
    def residual(self) -> np.ndarray:
        """(T, H, W) float32 residual of every frame (prefer :meth:`residual_of`)."""
        return np.stack([self.residual_of(t) for t in range(self.n)])
