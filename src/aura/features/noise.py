"""Noise residual statistics: what is left after removing the image content.

Camera sensor noise, generator upsampling traces and heavy denoising all change the
high-pass residual. Two residuals: luma minus its 3x3 median (robust to edges), and an
SRM-style second-order kernel.
"""

from __future__ import annotations

import cv2
import numpy as np

from aura.features.frameset import (
    NAN,
    FrameSet,
    cv_over,
    mean_or_nan,
    median_residual,
    ratio,
    sumsq,
    total,
)
from aura.features.registry import feature_group

#: SRM "KB" 3x3 kernel (Fridrich & Kodovsky) with its usual 1/4 scale; it cancels
#: constant, linear and bilinear content.
_SRM_KB = np.array([[-1, 2, -1], [2, -4, 2], [-1, 2, -1]], np.float32) / 4.0
#: Share of 8x8 blocks, the flattest by content variance, used for the flat-region noise level.
_FLAT_SHARE = 0.2

FEATURES = {
    "noise_res_energy": "mean squared luma residual (luma minus 3x3 median), luma levels^2",
    "noise_res_cv": "coefficient of variation over frames of the per-frame residual energy",
    "noise_res_kurtosis": "excess kurtosis of the luma residual values (heavy tails = sparse edges/artefacts)",
    "noise_res_flat": "residual energy in the 20% flattest 8x8 blocks (by median-filtered variance): noise level",
    "noise_res_ratio": "residual energy / luma variance: share of signal energy that is high-pass noise",
    "noise_res_acorr": "lag-1 spatial autocorrelation of the residual (higher = spatially correlated noise: demosaicing, upsampling)",
    "noise_srm_energy": "mean squared SRM KB (second-order) residual of luma",
    "noise_chroma_energy": "mean squared 3x3-median residual of Cb and Cr (BT.601, on every second pixel)",
}


def _flat_energy(y: np.ndarray, r: np.ndarray, r2: np.ndarray) -> float:
    """Residual energy in the flattest 8x8 blocks of one frame (NaN if smaller than a block)."""
    h, w = (y.shape[0] // 8) * 8, (y.shape[1] // 8) * 8
    if h == 0 or w == 0:
        return NAN
    # Content without noise (y - r = 3x3 median), shifted to ~0 so that E[x^2] - E[x]^2
    # keeps its precision in float32.
    med = cv2.addWeighted(y[:h, :w], 1.0, r[:h, :w], -1.0, -128.0)
    size = (w // 8, h // 8)
    # INTER_AREA with an integer factor is the exact block mean.
    m1 = cv2.resize(med, size, interpolation=cv2.INTER_AREA)
    m2 = cv2.resize(cv2.multiply(med, med), size, interpolation=cv2.INTER_AREA)
    e = cv2.resize(r2[:h, :w], size, interpolation=cv2.INTER_AREA).ravel()
    var = (m2 - m1 * m1).ravel()
    k = max(1, int(round(_FLAT_SHARE * var.size)))
    flat = np.argpartition(var, k - 1)[:k]
    return float(e[flat].mean())


def _chroma_energy(rgb: np.ndarray, y: np.ndarray) -> float:
    """Median-residual energy of Cb/Cr on every second pixel (chroma is usually 4:2:0).

    Cb and Cr are (B - Y) and (R - Y) scaled by BT.601's 0.564 and 0.713; offsets cancel.
    """
    yh = np.ascontiguousarray(y[::2, ::2])
    if min(yh.shape) < 3:
        return NAN
    energy = 0.0
    for c, scale in ((2, 0.564), (0, 0.713)):
        plane = cv2.subtract(np.ascontiguousarray(rgb[::2, ::2, c]), yh, dtype=cv2.CV_32F)
        energy += scale * scale * sumsq(median_residual(plane))
    return energy / (2 * yh.size)


@feature_group("noise", FEATURES)
def noise_features(fs: FrameSet) -> dict[str, float]:
    """Noise residual statistics pooled over the (spatial) frames."""
    _, h, w = fs.shape
    n_px = h * w
    energy, lvar, flat, srm, chroma = [], [], [], [], []
    s1 = s3 = s4 = lag = 0.0
    for t in fs.spatial:
        y, r = fs.luma_of(int(t)), fs.residual_of(int(t))
        rv = r.reshape(-1)
        r2 = cv2.multiply(r, r)
        energy.append(total(r2) / n_px)
        s1 += total(r)
        s3 += float(np.dot(r2.reshape(-1), rv))
        s4 += sumsq(r2)
        # Horizontal pairs from the flat view (row wrap-around is a 1/W effect), vertical exact.
        lag += float(np.dot(rv[1:], rv[:-1])) + float(np.dot(rv[w:], rv[:-w]))
        # Luma variance from every second row: an estimate, at half the cost.
        half = y[::2]
        lvar.append(sumsq(half - np.float32(half.mean())) / half.size)
        flat.append(_flat_energy(y, r, r2))
        srm.append(sumsq(cv2.filter2D(y, -1, _SRM_KB, borderType=cv2.BORDER_REFLECT)) / n_px)
        chroma.append(_chroma_energy(fs.rgb[t], y))
    n = n_px * len(fs.spatial)
    m1, m2 = s1 / n, float(np.mean(energy))
    m3, m4 = s3 / n, s4 / n
    var = m2 - m1 * m1
    # Central fourth moment from raw moments (float64).
    c4 = m4 - 4 * m1 * m3 + 6 * m1 * m1 * m2 - 3 * m1**4
    kurt = ratio(c4, var * var) - 3.0 if var > 1e-12 else NAN
    return {
        "noise_res_energy": m2,
        "noise_res_cv": cv_over(energy),
        "noise_res_kurtosis": kurt,
        "noise_res_flat": mean_or_nan(flat),
        "noise_res_ratio": ratio(m2, float(np.mean(lvar))),
        "noise_res_acorr": ratio(lag / 2.0, m2 * n) if m2 > 1e-12 else NAN,
        "noise_srm_energy": mean_or_nan(srm),
        "noise_chroma_energy": mean_or_nan(chroma),
    }
