"""Temporal statistics between consecutive sampled frames (uniformly spaced over the video).

With T sampled frames of an N-frame video, consecutive samples are ~N/T frames apart:
these features describe change at that scale, and are only frame-to-frame for N <= T.
"""

from __future__ import annotations

import cv2
import numpy as np

from aura.features.frameset import NAN, FrameSet, cv_over, ratio, sumsq, total
from aura.features.registry import feature_group

#: RMS difference (luma levels) below which two neighbouring frames count as the same frame.
_STATIC = 0.5

FEATURES = {
    "temp_diff_energy": "mean squared luma difference between neighbouring frames",
    "temp_diff_cv": "coefficient of variation of that difference energy over the frame pairs",
    "temp_flicker": "std of the linearly detrended per-frame mean luma (global brightness flicker)",
    "temp_res_corr": "mean correlation of neighbouring frames' noise residuals (fixed pattern / frozen texture)",
    "temp_oddeven_ratio": "min/max of odd- vs even-numbered frames' energy of (frame - mean of its neighbours); low = blended frames",
    "temp_static_share": "share of neighbouring frame pairs that are (near) identical: frozen or duplicated frames",
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


def _blend_error(before: np.ndarray, y: np.ndarray, after: np.ndarray) -> float:
    """Blend trace: a frame that is the average of its neighbours has zero interpolation error."""
    return sumsq(cv2.subtract(y, cv2.addWeighted(before, 0.5, after, 0.5, 0.0)))


@feature_group("temporal", FEATURES)
def temporal_features(fs: FrameSet) -> dict[str, float]:
    """Frame-difference energy, flicker, residual correlation, blending and frozen frames.

    Differences, residual correlations and blend errors compare neighbouring frames of the
    video (:attr:`FrameSet.frame_numbers` one apart; when no sampled frames are neighbours,
    differences fall back to consecutive samples and the blend ratio is NaN). The blend error
    of frame ``k`` (between ``k - 1`` and ``k + 1``) is pooled by the parity of ``k``.
    One pass over the frames holding three luma and two residual planes at a time.
    """
    if fs.n < 2:
        return dict.fromkeys(FEATURES, NAN)
    _, h, w = fs.shape
    n_px = h * w
    num = fs.frame_numbers
    step = np.diff(num)
    adjacent = step == 1 if (step == 1).any() else np.ones_like(step, dtype=bool)
    sums, diff, corr = [], [], []
    err, cnt = np.zeros(2), np.zeros(2)  # blend error of even / odd frame numbers
    y_2 = y_1 = r_1 = None  # luma of frames t-2, t-1; residual of t-1
    for t in range(fs.n):
        y, r = fs.luma_of(t), fs.residual_of(t)
        sums.append(total(y))
        if y_1 is not None and r_1 is not None and adjacent[t - 1]:
            diff.append(sumsq(cv2.subtract(y, y_1)) / n_px)
            a, b = r_1.reshape(-1), r.reshape(-1)
            corr.append(ratio(float(np.dot(a, b)), float(np.sqrt(np.dot(a, a) * np.dot(b, b)))))
        if y_2 is not None and y_1 is not None and step[t - 2] == 1 and step[t - 1] == 1:
            parity = int(num[t - 1] % 2)
            err[parity] += _blend_error(y_2, y_1, y)
            cnt[parity] += 1
        y_2, y_1, r_1 = y_1, y, r
    means = np.array(sums) / n_px
    e_par = err / np.maximum(cnt, 1)
    odd_even = ratio(float(e_par.min()), float(e_par.max())) if cnt.min() > 0 else NAN
    c = np.asarray(corr)
    c = c[np.isfinite(c)]
    return {
        "temp_diff_energy": float(np.mean(diff)),
        "temp_diff_cv": cv_over(diff),
        "temp_flicker": _flicker(means, fs.pts_s),
        "temp_res_corr": float(c.mean()) if c.size else NAN,
        "temp_oddeven_ratio": odd_even,
        "temp_static_share": float(np.mean(np.sqrt(diff) < _STATIC)),
    }
