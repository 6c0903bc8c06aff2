"""8x8 block DCT statistics of luma on the coding grid (JPEG/MPEG transform domain).

The block DCT is two matrix products with the orthonormal DCT-II basis: along rows of
8-row strips, then along the 8-column groups of the result; coefficients stay laid out as
``[block_row, u, block_col, v]`` and all statistics are per-(u, v) sums over blocks.
"""

from __future__ import annotations

import cv2
import numpy as np

from aura.features.frameset import NAN, FrameSet, ratio
from aura.features.registry import feature_group

#: |coefficient| up to this counts as quantised to zero (decoding to 8 bits leaves
#: rounding noise of std ~0.3 on coefficients that were zeroed by the encoder).
_ZERO = 1.0


def _dct_basis() -> np.ndarray:
    k = np.arange(8)[:, None]
    n = np.arange(8)[None, :]
    d = np.sqrt(2 / 8) * np.cos(np.pi * (2 * n + 1) * k / 16)
    d[0] /= np.sqrt(2)
    return d.astype(np.float32)


_D = _dct_basis()
_UV = np.add.outer(np.arange(8), np.arange(8))  # u + v: zig-zag diagonal of each coefficient
_LOW = (_UV >= 1) & (_UV <= 3)
_MID = (_UV >= 4) & (_UV <= 7)
_HIGH = _UV >= 8
_AC = _UV >= 1

FEATURES = {
    "dct_dc_mean": "mean 8x8 block DC (block mean luma, 0-255)",
    "dct_dc_std": "spatial std of block DC (block mean luma), averaged over frames",
    "dct_ac_energy": "mean squared AC coefficient (orthonormal DCT, luma levels^2)",
    "dct_low_energy": "mean squared coefficient in the low band (1 <= u+v <= 3)",
    "dct_mid_energy": "mean squared coefficient in the mid band (4 <= u+v <= 7)",
    "dct_high_energy": "mean squared coefficient in the high band (u+v >= 8)",
    "dct_mid_low_ratio": "mid-band / low-band energy",
    "dct_high_low_ratio": "high-band / low-band energy (falls with blur, compression, upsampling)",
    "dct_zero_frac": "share of AC coefficients with |c| <= 1: quantised to zero",
    "dct_zero_frac_high": "share of high-band coefficients with |c| <= 1",
    "dct_high_kurtosis": "excess kurtosis of pooled high-band coefficients (peaky = quantised)",
}


def block_dct(y: np.ndarray) -> np.ndarray:
    """Orthonormal 8x8 DCT of every block of ``y`` (cropped to multiples of 8).

    Returns (H/8, 8, W/8, 8) float32 indexed ``[block_row, u, block_col, v]``.
    """
    h, w = (y.shape[0] // 8) * 8, (y.shape[1] // 8) * 8
    x = np.ascontiguousarray(y[:h, :w]).reshape(h // 8, 8, w)
    cols = np.matmul(_D, x)  # vertical transform of each 8-row strip: (H/8, 8, W)
    z = cols.reshape(-1, 8) @ _D.T  # horizontal transform of each 8-column group
    return z.reshape(h // 8, 8, w // 8, 8)


def _uv_sum(a: np.ndarray) -> np.ndarray:
    """Sum over blocks of a (H/8, 8, W/8, 8) float32 array -> (8, 8) float64.

    Block rows are summed in float32 (sequential adds of at most H/8 terms), the rest in float64.
    """
    return a.sum(axis=0).astype(np.float64).sum(axis=1)


@feature_group("dct", FEATURES)
def dct_features(fs: FrameSet) -> dict[str, float]:
    """Block DCT band energies and quantisation traces pooled over frames."""
    s2 = np.zeros((8, 8))
    s4 = np.zeros((8, 8))
    zeros = np.zeros((8, 8))
    dc_mean, dc_std = [], []
    n_blocks = 0
    for y in fs.spatial_luma():
        if y.shape[0] < 8 or y.shape[1] < 8:
            break
        z = block_dct(y)
        z2 = z * z
        s2 += _uv_sum(z2)
        s4 += _uv_sum(z2 * z2)
        # 1.0 where z^2 <= threshold (THRESH_BINARY_INV), on the 2-D view of the same memory.
        _, small = cv2.threshold(
            z2.reshape(-1, z2.shape[-2] * 8), _ZERO * _ZERO, 1.0, cv2.THRESH_BINARY_INV
        )
        zeros += _uv_sum(small.reshape(z2.shape))
        dc = z[:, 0, :, 0] / 8.0  # orthonormal DC = 8 x block mean
        dc_mean.append(float(dc.mean()))
        dc_std.append(float(dc.std()))
        n_blocks += z.shape[0] * z.shape[2]
    if n_blocks == 0:
        return dict.fromkeys(FEATURES, NAN)

    def band(mask: np.ndarray) -> float:
        return float(s2[mask].sum() / (mask.sum() * n_blocks))

    low, mid, high = band(_LOW), band(_MID), band(_HIGH)
    m2 = s2[_HIGH].sum() / (_HIGH.sum() * n_blocks)
    m4 = s4[_HIGH].sum() / (_HIGH.sum() * n_blocks)
    return {
        "dct_dc_mean": float(np.mean(dc_mean)),
        "dct_dc_std": float(np.mean(dc_std)),
        "dct_ac_energy": band(_AC),
        "dct_low_energy": low,
        "dct_mid_energy": mid,
        "dct_high_energy": high,
        "dct_mid_low_ratio": ratio(mid, low),
        "dct_high_low_ratio": ratio(high, low),
        "dct_zero_frac": float(zeros[_AC].sum() / (_AC.sum() * n_blocks)),
        "dct_zero_frac_high": float(zeros[_HIGH].sum() / (_HIGH.sum() * n_blocks)),
        "dct_high_kurtosis": ratio(m4, m2 * m2) - 3.0 if m2 > 1e-12 else NAN,
    }
