"""Calibration: fitted on logits, stored as plain numbers, applied without sklearn."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import log_loss

from aura.release import Calibration, fit_calibration
from aura.release.calibration import sigmoid


def miscalibrated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from sigmoid(z) but reported as logits 3*z + 2 (overconfident, shifted)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=1.5, size=n)
    y = (rng.random(n) < sigmoid(z)).astype(int)
    return 3.0 * z + 2.0, y


def _loss(y: np.ndarray, p: np.ndarray) -> float:
    return float(log_loss(y, np.clip(p, 1e-6, 1 - 1e-6), labels=[0, 1]))


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_calibration_reduces_log_loss_on_held_out_scores(method: str) -> None:
    train_logits, train_y = miscalibrated(2000, seed=0)
    test_logits, test_y = miscalibrated(2000, seed=1)
    cal = fit_calibration(train_logits, train_y, method)
    raw = _loss(test_y, sigmoid(test_logits))
    fitted = _loss(test_y, cal.apply(test_logits))
    assert fitted < 0.9 * raw, (method, raw, fitted)
    # the true map is sigmoid((logit - 2) / 3): Platt must find it
    if method == "platt":
        assert cal.params["a"] == pytest.approx(1 / 3, abs=0.06)
        assert cal.params["b"] == pytest.approx(-2 / 3, abs=0.15)


def test_none_is_the_plain_sigmoid() -> None:
    logits, y = miscalibrated(50, seed=2)
    cal = fit_calibration(logits, y, "none")
    np.testing.assert_allclose(cal.apply(logits), 1 / (1 + np.exp(-logits)))


@pytest.mark.parametrize("method", ["platt", "isotonic", "none"])
def test_json_round_trip_applies_identically(method: str) -> None:
    logits, y = miscalibrated(500, seed=3)
    cal = fit_calibration(logits, y, method)
    text = json.dumps(cal.to_dict())  # plain JSON: no estimator objects
    back = Calibration.from_dict(json.loads(text))
    assert back == cal
    probe = np.linspace(-20, 20, 401)
    np.testing.assert_array_equal(back.apply(probe), cal.apply(probe))
    assert np.all(np.diff(back.apply(probe)) >= 0)  # monotone


def test_isotonic_is_flat_beyond_its_breakpoints() -> None:
    logits, y = miscalibrated(500, seed=4)
    cal = fit_calibration(logits, y, "isotonic")
    lo, hi = cal.params["x"][0], cal.params["x"][-1]
    assert cal.apply(lo - 100) == cal.apply(lo)
    assert cal.apply(hi + 100) == cal.apply(hi)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="release.calibration"):
        fit_calibration([0.0, 1.0], [0, 1], "beta")
    with pytest.raises(ValueError, match="both classes"):
        fit_calibration([0.0, 1.0], [1, 1], "platt")
    with pytest.raises(ValueError, match="NaN"):
        fit_calibration([np.nan, 1.0], [0, 1], "isotonic")
    with pytest.raises(ValueError, match="needs parameters"):
        Calibration.from_dict({"method": "platt", "params": {"a": 1.0}})
