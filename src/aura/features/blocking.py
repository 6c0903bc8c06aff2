"""Block-boundary inconsistency: luma steps across the 8x8 / 16x16 coding grid vs elsewhere.

Column profile ``p[x]`` = mean |Y[:, x+1] - Y[:, x]| (a step between columns x and x+1);
a boundary of the 8-grid sits at ``x % 8 == 7``. Ratios > 1 mean visible blocking.
"""

from __future__ import annotations

import cv2
import numpy as np

from aura.features.frameset import NAN, FrameSet, ratio
from aura.features.registry import feature_group

FEATURES = {
    "block8_h": "mean |luma step| across vertical 8-grid boundaries / off-grid (horizontal blocking)",
    "block8_v": "mean |luma step| across horizontal 8-grid boundaries / off-grid (vertical blocking)",
    "block8": "8-grid boundary / off-grid mean |luma step|, both directions pooled",
    "block8_diff": "8-grid boundary minus off-grid mean |luma step| (luma levels), both directions",
    "block16_h": "mean |luma step| across vertical 16-grid boundaries / off-8-grid positions",
    "block16_v": "mean |luma step| across horizontal 16-grid boundaries / off-8-grid positions",
    "block16": "16-grid boundary / off-8-grid mean |luma step|, both directions pooled",
    "block_peak": "max over the 8 grid phases of the mean |luma step| / mean over phases (any alignment)",
}


def _profiles(fs: FrameSet) -> tuple[np.ndarray, np.ndarray]:
    """Mean |step| per column gap (W-1,) and per row gap (H-1,), over rows/cols and frames."""
    _, h, w = fs.shape
    col = np.zeros(max(w - 1, 0))
    row = np.zeros(max(h - 1, 0))
    for y in fs.spatial_luma():
        # NumPy sums, not cv2.reduce: OpenCV's reductions depend on buffer alignment.
        if w > 1:
            col += cv2.absdiff(y[:, 1:], y[:, :-1]).sum(axis=0)
        if h > 1:
            row += cv2.absdiff(y[1:], y[:-1]).sum(axis=1)
    k = len(fs.spatial)
    return col / (h * k), row / (w * k)


def _on_off(p: np.ndarray, period: int) -> tuple[float, float, int, int]:
    """Sums and counts of profile entries on the ``period`` grid and off the 8-grid."""
    x = np.arange(p.size)
    on = x % period == period - 1
    off = x % 8 != 7
    return float(p[on].sum()), float(p[off].sum()), int(on.sum()), int(off.sum())


def _grid(col: np.ndarray, row: np.ndarray, period: int) -> tuple[float, float, float, float]:
    """(horizontal ratio, vertical ratio, pooled ratio, pooled difference)."""
    ch, fh, nch, nfh = _on_off(col, period)
    cv, fv, ncv, nfv = _on_off(row, period)

    def mean(s: float, n: int) -> float:
        return s / n if n else NAN

    h = ratio(mean(ch, nch), mean(fh, nfh))
    v = ratio(mean(cv, ncv), mean(fv, nfv))
    on, off = mean(ch + cv, nch + ncv), mean(fh + fv, nfh + nfv)
    return h, v, ratio(on, off), on - off


def _peak(col: np.ndarray, row: np.ndarray) -> float:
    """Strongest grid phase vs the average phase, over both directions (needs 2 full periods)."""
    phases = np.zeros(8)
    for p in (col, row):
        m = (p.size // 8) * 8
        if m >= 16:
            phases += p[:m].reshape(-1, 8).mean(axis=0)
    return ratio(float(phases.max()), float(phases.mean()))


@feature_group("blocking", FEATURES)
def blocking_features(fs: FrameSet) -> dict[str, float]:
    """Blockiness on the 8 and 16 grids (coded orientation, grid anchored at the top-left)."""
    col, row = _profiles(fs)
    h8, v8, r8, d8 = _grid(col, row, 8)
    h16, v16, r16, _ = _grid(col, row, 16)
    return {
        "block8_h": h8,
        "block8_v": v8,
        "block8": r8,
        "block8_diff": d8,
        "block16_h": h16,
        "block16_v": v16,
        "block16": r16,
        "block_peak": _peak(col, row),
    }
