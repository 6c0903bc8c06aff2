"""Blur and sharpness: classic focus measures on luma, averaged over frames."""

from __future__ import annotations

import cv2
import numpy as np

from aura.features.frameset import NAN, FrameSet, cv_over, mean_or_nan, sumsq, total
from aura.features.registry import feature_group

#: Canny hysteresis thresholds on 8-bit luma (OpenCV's L1 Sobel gradient).
_CANNY = (100.0, 200.0)

FEATURES = {
    "blur_lap_var": "variance of the 3x3 Laplacian of luma (focus measure; low = blurry)",
    "blur_lap_var_cv": "coefficient of variation over frames of the Laplacian variance",
    "blur_grad_mean": "mean Sobel (3x3) gradient magnitude of luma",
    "blur_tenengrad": "Tenengrad: mean squared Sobel gradient magnitude",
    "blur_tenengrad_cv": "coefficient of variation over frames of Tenengrad",
    "blur_brenner": "Brenner: mean squared 2-pixel luma difference, horizontal and vertical",
    "blur_edge_density": "share of pixels on Canny edges (thresholds 100/200 on 8-bit luma)",
}


def _brenner(y: np.ndarray) -> float:
    h, w = y.shape
    energy, count = 0.0, 0
    if w > 2:
        energy += sumsq(cv2.subtract(y[:, 2:], y[:, :-2]))
        count += h * (w - 2)
    if h > 2:
        energy += sumsq(cv2.subtract(y[2:], y[:-2]))
        count += (h - 2) * w
    return energy / count if count else NAN


@feature_group("blur", FEATURES)
def blur_features(fs: FrameSet) -> dict[str, float]:
    """Laplacian variance, Sobel gradient, Tenengrad, Brenner and Canny edge density."""
    lap, grad, ten, bren, edges = [], [], [], [], []
    for y in fs.spatial_luma():
        n_px = y.size
        lp = cv2.Laplacian(y, cv2.CV_32F, ksize=1)
        lap.append(sumsq(lp) / n_px - (total(lp) / n_px) ** 2)
        gx = cv2.Sobel(y, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(y, cv2.CV_32F, 0, 1, ksize=3)
        g2 = cv2.add(cv2.multiply(gx, gx), cv2.multiply(gy, gy))
        # np.sqrt, not cv2.magnitude: the latter's result depends on buffer alignment.
        grad.append(total(np.sqrt(g2)) / n_px)
        ten.append(total(g2) / n_px)
        bren.append(_brenner(y))
        e = cv2.Canny(cv2.convertScaleAbs(y), *_CANNY)
        edges.append(cv2.countNonZero(e) / n_px)
    return {
        "blur_lap_var": mean_or_nan(lap),
        "blur_lap_var_cv": cv_over(lap),
        "blur_grad_mean": mean_or_nan(grad),
        "blur_tenengrad": mean_or_nan(ten),
        "blur_tenengrad_cv": cv_over(ten),
        "blur_brenner": mean_or_nan(bren),
        "blur_edge_density": mean_or_nan(edges),
    }
