"""Probability calibration of a detector's ensemble logit, stored as plain numbers.

scikit-learn fits the map; only its parameters are kept (Platt: ``a``, ``b``; isotonic: the
breakpoints), so a released detector holds no pickled estimator and applying the map is a line
of NumPy. Calibration is fitted on out-of-fold logits: the scores of videos no model saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np

CalibrationMethod = Literal["platt", "isotonic", "none"]
METHODS: tuple[str, ...] = get_args(CalibrationMethod)


def sigmoid(x: np.ndarray | float) -> np.ndarray:
    """1 / (1 + exp(-x)), without overflow warnings."""
    z = np.asarray(x, dtype=np.float64)
    return np.exp(-np.logaddexp(0.0, -z))


@dataclass(frozen=True)
class Calibration:
    """A monotone map from an ensemble logit to a probability of fake.

    ``platt``: ``sigmoid(a * logit + b)``; ``isotonic``: piecewise-linear through the breakpoints
    ``(x, y)`` (flat beyond the ends); ``none``: ``sigmoid(logit)``.
    """

    method: CalibrationMethod = "none"
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(
                f"release.calibration: unknown method {self.method!r}; expected one of {METHODS}"
            )
        need = {"platt": {"a", "b"}, "isotonic": {"x", "y"}, "none": set()}[self.method]
        if missing := need - set(self.params):
            raise ValueError(f"{self.method} calibration needs parameters {sorted(missing)}")
        if self.method == "isotonic":
            x, y = np.asarray(self.params["x"]), np.asarray(self.params["y"])
            if x.ndim != 1 or x.shape != y.shape or x.size == 0 or np.any(np.diff(x) < 0):
                raise ValueError("isotonic calibration needs equal-length, sorted x/y breakpoints")

    def apply(self, logits: np.ndarray | float) -> np.ndarray:
        """Calibrated probabilities of fake for ``logits`` (same shape, float64)."""
        z = np.asarray(logits, dtype=np.float64)
        if self.method == "platt":
            return sigmoid(float(self.params["a"]) * z + float(self.params["b"]))
        if self.method == "isotonic":
            xs = np.asarray(self.params["x"], dtype=np.float64)
            ys = np.asarray(self.params["y"], dtype=np.float64)
            return np.interp(z, xs, ys)
        return sigmoid(z)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: ``{"method": ..., "params": {...}}``."""
        return {"method": self.method, "params": dict(self.params)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        return cls(data["method"], dict(data.get("params") or {}))


def fit_calibration(
    logits: Any, y: Any, method: CalibrationMethod | str, *, platt_c: float = 1e6
) -> Calibration:
    """Fit ``method`` mapping ``logits`` to the 0/1 labels ``y``. ``platt_c`` is the inverse
    L2 penalty of the Platt fit: the default is the unregularised fit; a few dozen videos that
    one model separates need a real penalty (e.g. 1.0), or ``a`` grows without bound."""
    if method not in METHODS:
        raise ValueError(
            f"release.calibration: unknown method {method!r}; expected one of {METHODS}"
        )
    z = np.asarray(logits, dtype=np.float64).reshape(-1)
    t = np.asarray(y).reshape(-1).astype(int)
    if z.shape != t.shape or not z.size:
        raise ValueError(f"calibration needs one label per logit, got {z.size} and {t.size}")
    if not np.isfinite(z).all():
        raise ValueError("calibration logits contain NaN or inf")
    if method == "none":
        return Calibration("none")
    if len(set(t.tolist())) < 2:
        raise ValueError(f"{method} calibration needs both classes in the out-of-fold labels")
    if method == "platt":
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(C=platt_c, max_iter=10_000).fit(z[:, None], t)
        return Calibration("platt", {"a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])})
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
    iso.fit(z, t)
    xs = [float(v) for v in iso.X_thresholds_]
    ys = [float(v) for v in iso.y_thresholds_]
    return Calibration("isotonic", {"x": xs, "y": ys})
