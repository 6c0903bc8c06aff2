"""Temporal statistics between consecutive sampled frames (uniformly spaced over the video).

With T sampled frames of an N-frame video, consecutive samples are ~N/T frames apart:
these features describe change at that scale, and are only frame-to-frame for N <= T.
"""

from __future__ import annotations

import cv2
import numpy as np

from aura.features.frameset import NAN, FrameSet, cv_over, ratio, sumsq, total
from aura.features.registry import feature_group

#: RMS difference (luma levels) below which two consecutive samples count as the same frame.
_STATIC = 0.5

FEATURES = {
    "temp_diff_energy": "mean squared luma difference between consecutive sampled frames",
    "temp_diff_cv": "coefficient of variation of that difference energy over the frame pairs",
    "temp_flicker": "std of the linearly detrended per-frame mean luma (global brightness flicker)",
    "temp_res_corr": "mean correlation of consecutive frames' noise residuals (fixed pattern / frozen texture)",
    "temp_oddeven_ratio": "min/max of odd vs even frames' energy of (frame - mean of its neighbours); low = blended frames",
    "temp_static_share": "share of consecutive sample pairs that are (near) identical: frozen or duplicated frames",
}


def _flicker(means: np.ndarray, pts_s: np.ndarray | None) -> float:
    """Std of the per-frame mean luma around its linear trend over time."""
    if means.size < 3:
        return NAN
    t = np.arange(means.size, dtype=np.float64)
    if pts_s is not None and pts_s.size == means.size and np.all(np.diff(pts_s) > 0):
        t = np.asarray(pts_s, dtype=np.float64)  # exact timing for variable frame rate
    slope, icept = np.polyfit(t, means, 1)
    return float(np.std(means - (slope * t + icept)))


def _odd_even(y: np.ndarray) -> float:
    """Blend trace: a frame that is the average of its neighbours has zero interpolation error."""
    if y.shape[0] < 4:
        return NAN
    err = np.zeros(2)
    cnt = np.zeros(2)
    for k in range(1, y.shape[0] - 1):
        e = cv2.subtract(y[k], cv2.addWeighted(y[k - 1], 0.5, y[k + 1], 0.5, 0.0))
        err[k % 2] += sumsq(e)
        cnt[k % 2] += 1
    e_par = err / cnt
    return ratio(float(e_par.min()), float(e_par.max()))


@feature_group("temporal", FEATURES)
def temporal_features(fs: FrameSet) -> dict[str, float]:
    """Frame-difference energy, flicker, residual correlation, blending and frozen frames."""
    if fs.n < 2:
        return dict.fromkeys(FEATURES, NAN)
    y = fs.luma
    n_px = y.shape[1] * y.shape[2]
    means = np.array([total(f) for f in y]) / n_px
    diff, corr = [], []
    r = fs.residual
    for t in range(fs.n - 1):
        d = cv2.subtract(y[t + 1], y[t])
        diff.append(sumsq(d) / n_px)
        a, b = r[t].reshape(-1), r[t + 1].reshape(-1)
        corr.append(ratio(float(np.dot(a, b)), float(np.sqrt(np.dot(a, a) * np.dot(b, b)))))
    c = np.asarray(corr)
    c = c[np.isfinite(c)]
    return {
        "temp_diff_energy": float(np.mean(diff)),
        "temp_diff_cv": cv_over(diff),
        "temp_flicker": _flicker(means, fs.pts_s),
        "temp_res_corr": float(c.mean()) if c.size else NAN,
        "temp_oddeven_ratio": _odd_even(y),
        "temp_static_share": float(np.mean(np.sqrt(diff) < _STATIC)),
    }
