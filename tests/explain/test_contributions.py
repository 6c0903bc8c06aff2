"""Feature contributions of real fitted baselines name the feature that decides the label."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from aura.explain import describe_column, feature_contributions, linear_coefficients
from aura.features import FEATURES, feature_names, to_table
from aura.models import fit_baseline, join_features

DECISIVE = "blur_lap_var"  # stage-4 column s4_blur_lap_var decides the label


def _table(n: int, seed: int) -> pl.DataFrame:
    """Joined stage-2 + stage-4 tables: noise everywhere, except that fakes have a low
    ``s4_blur_lap_var`` (blurrier scaled frames)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    names = feature_names()
    ids = {"video_id": [f"v{seed}_{i}" for i in range(n)]}
    stage2 = [{k: float(rng.lognormal(0, 1)) for k in names} for _ in range(n)]
    stage4 = [{k: float(rng.lognormal(0, 1)) for k in names} for _ in range(n)]
    for row, label in zip(stage4, y, strict=True):
        row[DECISIVE] = float(rng.normal(20.0 - 12.0 * label, 2.0))
    s2 = to_table(stage2, {**ids, "target": y.tolist()})
    return join_features(s2, to_table(stage4, ids, prefix="s4_"))


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    return _table(120, 0)


@pytest.mark.parametrize("name", ["logistic_regression", "svm"])
def test_decisive_feature_comes_first_with_the_right_sign(table: pl.DataFrame, name: str) -> None:
    model = fit_baseline(name, table, table["video_id"].to_list())
    fake = table.filter(pl.col("target") == 1).head(1)
    real = table.filter(pl.col("target") == 0).head(1)
    for row, sign in ((fake, 1.0), (real, -1.0)):
        top = feature_contributions(model, row, top_k=5)
        assert len(top) == 5
        first = top[0]
        assert first.column == f"s4_{DECISIVE}" and first.feature == DECISIVE
        assert first.stage == "stage 4" and first.group == "blur"
        assert first.description == FEATURES[DECISIVE]
        assert np.sign(first.contribution) == sign  # low blur variance pushes towards fake
        assert first.value == row[f"s4_{DECISIVE}"].item()
        mags = [abs(c.contribution) for c in top]
        assert mags == sorted(mags, reverse=True)


def test_logistic_contributions_add_up_to_the_decision_value(table: pl.DataFrame) -> None:
    model = fit_baseline("logistic_regression", table, table["video_id"].to_list())
    row = table.slice(3, 1)
    every = feature_contributions(model, row, top_k=None)
    assert len(every) == len(model.feature_names)
    _, intercept = linear_coefficients(model)
    decision = model.pipeline.decision_function(model.matrix(row))[0]
    assert intercept + sum(c.contribution for c in every) == pytest.approx(decision, abs=1e-9)


def test_svm_coefficients_average_the_calibrated_svcs(table: pl.DataFrame) -> None:
    model = fit_baseline("svm", table, table["video_id"].to_list())
    calibrated = model.pipeline[-1].calibrated_classifiers_
    assert len(calibrated) == 3  # calibration_folds
    coef, _ = linear_coefficients(model)
    each = np.array([c.estimator.coef_.ravel() for c in calibrated])
    np.testing.assert_allclose(coef, each.mean(axis=0))
    assert np.argmax(np.abs(coef)) == model.feature_names.index(f"s4_{DECISIVE}")


def test_columns_map_back_to_features_and_stages() -> None:
    assert describe_column("noise_res_cv").stage == "stage 2"
    flag = describe_column("s4_noise_res_cv__imputed")
    assert flag.feature == "noise_res_cv" and flag.stage == "stage 4"
    assert flag.description.endswith(FEATURES["noise_res_cv"])
    custom = describe_column("x2_noise_res_cv", {"x2_": "stage 4", "": "stage 2"})
    assert custom.stage == "stage 4"
    unknown = describe_column("video_id")
    assert unknown.stage == "" and "not a registered feature" in unknown.description


def test_bad_rows_raise_by_name(table: pl.DataFrame) -> None:
    model = fit_baseline("logistic_regression", table, table["video_id"].to_list())
    with pytest.raises(ValueError, match="one row at a time"):
        feature_contributions(model, table.head(2))
    with pytest.raises(ValueError, match="features missing"):
        feature_contributions(model, table.head(1).drop(f"s4_{DECISIVE}"))
