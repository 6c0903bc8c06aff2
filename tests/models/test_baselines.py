"""Feature baselines learn, keep their column order and refuse bad configs."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from aura.features import feature_names, to_table
from aura.models import build_baseline, fit_baseline, join_features


def _table(n: int, seed: int, prefix: str = "") -> pl.DataFrame:
    """Feature rows where two real feature columns carry the label, the rest are heavy-tailed noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    names = feature_names()
    rows = []
    for i in range(n):
        row = {k: float(rng.lognormal(0, 2)) for k in names}
        row[names[0]] = float(rng.normal(3 * y[i], 1))  # informative
        row[names[5]] = float(np.exp(rng.normal(2 * y[i], 1)))  # informative, heavy-tailed
        rows.append(row)
    ids = {"video_id": [f"v{seed}_{i}" for i in range(n)], "target": y.tolist()}
    return to_table(rows, ids, prefix=prefix)


@pytest.mark.parametrize("name", ["logistic_regression", "svm"])
def test_baseline_learns_and_keeps_columns(name: str) -> None:
    train, test = _table(200, 0), _table(100, 1)
    model = fit_baseline(name, train, train["video_id"].to_list(), {"C": 0.5})
    scores = model.predict_proba(test)
    assert scores.shape == (100,) and ((scores >= 0) & (scores <= 1)).all()
    assert roc_auc_score(test["target"], scores) > 0.9
    shuffled = test.select(list(reversed(test.columns)))  # same columns, other order
    np.testing.assert_allclose(model.predict_proba(shuffled), scores)
    with pytest.raises(ValueError, match="features missing"):
        model.predict_proba(test.drop(model.feature_names[3]))


def test_joined_stage4_columns_are_used() -> None:
    s2, s4 = _table(60, 0), _table(60, 0, prefix="s4_")
    joined = join_features(s2, s4)
    model = fit_baseline("logistic_regression", joined, joined["video_id"].to_list())
    assert len(model.feature_names) == 2 * len(feature_names())
    assert model.feature_names[len(feature_names())].startswith("s4_")


def test_bad_configs_are_named() -> None:
    with pytest.raises(ValueError, match="unknown model 'forest'; known models: .*svm"):
        build_baseline("forest")
    with pytest.raises(ValueError, match="'x3d' is a clips model, not a features baseline"):
        build_baseline("x3d")
    with pytest.raises(ValueError, match=r"training\.model_params\.svm\.gamma: unknown key"):
        build_baseline("svm", {"gamma": 1})
    with pytest.raises(ValueError, match=r"svm\.c: unknown key; did you mean .*svm\.C\?"):
        build_baseline("svm", {"c": 1})
    with pytest.raises(ValueError, match=r"logistic_regression\.C must be > 0, got -1"):
        build_baseline("logistic_regression", {"C": -1})
    one_class = _table(10, 0).filter(pl.col("target") == 1)
    with pytest.raises(ValueError, match="single class"):
        fit_baseline("svm", one_class, one_class["video_id"].to_list())
