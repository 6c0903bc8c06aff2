"""Operating points and curves agree with scikit-learn."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_curve,
)

from aura.evaluation import curve_points, operating_point


@pytest.mark.parametrize("threshold", [0.0, 0.25, 0.5, 0.731, 1.0, 1.5])
def test_operating_point_matches_sklearn(threshold: float) -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 200)
    s = np.clip(0.3 * y + rng.random(200) * 0.7, 0, 1).round(2)  # ties on purpose
    point = operating_point(y, s, threshold)
    pred = (s >= threshold).astype(int)
    assert point.matrix().tolist() == confusion_matrix(y, pred, labels=[0, 1]).tolist()
    assert point.precision == pytest.approx(precision_score(y, pred, zero_division=0))
    assert point.recall == pytest.approx(recall_score(y, pred, zero_division=0))
    assert point.f1 == pytest.approx(f1_score(y, pred, zero_division=0))
    assert point.accuracy == pytest.approx(accuracy_score(y, pred))
    tn, fp = point.matrix()[0]
    assert point.fpr == pytest.approx(fp / (fp + tn)) and point.n == 200


def test_operating_point_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="one score per label"):
        operating_point([0, 1], [0.5], 0.5)
    with pytest.raises(ValueError, match="0/1"):
        operating_point([0, 2], [0.5, 0.5], 0.5)
    with pytest.raises(ValueError, match="NaN"):
        operating_point([0, 1], [0.5, np.nan], 0.5)
    one_class = operating_point([1, 1], [0.2, 0.9], 0.5)
    assert (one_class.tp, one_class.fn, one_class.fpr) == (1, 1, 0.0)


def test_curve_points_are_sklearns_curves_per_group() -> None:
    rng = np.random.default_rng(0)
    preds = pl.DataFrame(
        {
            "model": ["a"] * 60 + ["b"] * 40,
            "fold": [0, 1] * 30 + [0] * 40,
            "target": rng.integers(0, 2, 100),
            "score": rng.random(100),
        }
    ).with_columns(pl.when(pl.col("model") == "b").then(1).otherwise("target").alias("target"))
    roc = curve_points(preds, "roc")
    assert set(roc.select("model", "fold").unique().iter_rows()) == {
        ("a", 0),
        ("a", 1),
    }  # b: one class
    part = preds.filter((pl.col("model") == "a") & (pl.col("fold") == 1))
    fpr, tpr, _ = roc_curve(part["target"], part["score"])
    got = roc.filter((pl.col("model") == "a") & (pl.col("fold") == 1))
    assert np.allclose(got["x"], fpr) and np.allclose(got["y"], tpr)
    precision, recall, _ = precision_recall_curve(part["target"], part["score"])
    pr = curve_points(preds, "pr").filter((pl.col("model") == "a") & (pl.col("fold") == 1))
    assert np.allclose(pr["x"], recall) and np.allclose(pr["y"], precision)
    assert roc.schema["fold"] == preds.schema["fold"]
