"""Tests for aura.evaluation.metrics: values checked against sklearn, numpy and hand computation."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from aura.evaluation import METRICS, binary_metrics, metrics_table, summary_table


@pytest.fixture
def random_preds() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=200)
    s = np.clip(0.3 * y + rng.uniform(0, 0.7, size=200), 0, 1)
    return y, s


def _preds(
    model: str, fold: int, y: list[int], s: list[float], platform: list[str]
) -> pl.DataFrame:
    n = len(y)
    return pl.DataFrame(
        {
            "model": [model] * n,
            "fold": [fold] * n,
            "video_id": [f"{model}-{fold}-{i}" for i in range(n)],
            "target": y,
            "score": s,
            "platform": platform,
        }
    )


def test_binary_metrics_match_sklearn(random_preds: tuple[np.ndarray, np.ndarray]) -> None:
    y, s = random_preds
    out = binary_metrics(y, s, threshold=0.6)
    pred = (s >= 0.6).astype(int)
    assert set(out) == {*METRICS, "n_val", "threshold"}
    assert out["roc_auc"] == pytest.approx(roc_auc_score(y, s))
    assert out["pr_auc"] == pytest.approx(average_precision_score(y, s))
    assert out["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert out["precision"] == pytest.approx(precision_score(y, pred, zero_division=0))
    assert out["recall"] == pytest.approx(recall_score(y, pred, zero_division=0))
    assert out["f1"] == pytest.approx(f1_score(y, pred, zero_division=0))
    assert out["n_val"] == 200 and out["threshold"] == 0.6
    assert all(np.isfinite(out[m]) for m in METRICS)
    assert 0.0 < out["eer"] < 0.5


def test_eer_perfect_reversed_and_hand_computed() -> None:
    y = [0, 0, 1, 1]
    assert binary_metrics(y, [0.1, 0.2, 0.8, 0.9])["eer"] == pytest.approx(0.0)
    assert binary_metrics(y, [0.9, 0.8, 0.2, 0.1])["eer"] == pytest.approx(1.0)
    # Negative 0.5 ties with positive 0.5: ROC goes (0, .5) -> (.5, 1), i.e. TPR = .5 + FPR.
    # FPR = 1 - TPR  =>  FPR = .5 - FPR  =>  EER = 0.25 (needs interpolation).
    assert binary_metrics(y, [0.2, 0.5, 0.5, 0.9])["eer"] == pytest.approx(0.25)
    # ROC corners (0,.5), (.5,.5): FPR = FNR = 0.5 exactly at a threshold.
    assert binary_metrics(y, [0.1, 0.6, 0.4, 0.8])["eer"] == pytest.approx(0.5)


def test_ece_calibrated_and_overconfident() -> None:
    y = [1, 1, 1] + [0] * 7
    assert binary_metrics(y, [0.3] * 10)["ece"] == pytest.approx(0.0)
    # Half at 0.95 with 6/10 fake (gap .35), half at 0.05 with 2/10 fake (gap .15):
    # ECE = .5 * .35 + .5 * .15 = 0.25.
    y2 = [1] * 6 + [0] * 4 + [1] * 2 + [0] * 8
    s2 = [0.95] * 10 + [0.05] * 10
    assert binary_metrics(y2, s2)["ece"] == pytest.approx(0.25)
    # One bin: |mean score - fraction positive| over everything = |0.5 - 0.4| = 0.1.
    assert binary_metrics(y2, s2, n_bins=1)["ece"] == pytest.approx(0.1)


def test_one_class_and_invalid_inputs_raise() -> None:
    with pytest.raises(ValueError, match="fold has only one class: roc_auc undefined"):
        binary_metrics([1, 1, 1], [0.2, 0.5, 0.9])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        binary_metrics([0, 1], [0.2, 1.5])
    with pytest.raises(ValueError, match="non-finite"):
        binary_metrics([0, 1], [0.2, np.nan])
    with pytest.raises(ValueError, match="lengths differ"):
        binary_metrics([0, 1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="0/1"):
        binary_metrics([0, 2], [0.2, 0.3])


def test_metrics_table_groups_two_models_two_folds() -> None:
    rng = np.random.default_rng(1)
    frames, expected = [], {}
    for model in ("b_model", "a_model"):
        for fold in (1, 0):
            y = [0, 1] * 10
            s = rng.uniform(size=20).round(3).tolist()
            frames.append(_preds(model, fold, y, s, ["yt"] * 20))
            expected[(model, fold)] = binary_metrics(y, s)
    table = metrics_table(pl.concat(frames))
    assert table.columns == ["model", "fold", *METRICS, "n_val", "threshold"]
    assert table.select("model", "fold").rows() == sorted(expected)
    for row in table.iter_rows(named=True):
        exp = expected[(row["model"], row["fold"])]
        assert row["n_val"] == 20
        for m in METRICS:
            assert row[m] == pytest.approx(exp[m])
    bad = _preds("m", 0, [1, 1], [0.3, 0.4], ["yt"] * 2)
    with pytest.raises(ValueError, match="only one class"):
        metrics_table(bad)


def test_summary_mean_std_match_numpy() -> None:
    rng = np.random.default_rng(2)
    rows = [
        {"model": "a", "fold": f, **{m: float(rng.uniform()) for m in METRICS}} for f in range(3)
    ] + [{"model": "b", "fold": 0, **{m: float(rng.uniform()) for m in METRICS}}]
    metrics = pl.DataFrame(rows)
    summary = summary_table(metrics)
    assert summary["model"].to_list() == ["a", "b"]
    assert summary["n_folds"].to_list() == [3, 1]
    a = summary.row(0, named=True)
    b = summary.row(1, named=True)
    for m in METRICS:
        vals = np.array([r[m] for r in rows[:3]])
        assert a[f"{m}_mean"] == pytest.approx(vals.mean())
        assert a[f"{m}_std"] == pytest.approx(vals.std(ddof=1))
        assert b[f"{m}_mean"] == pytest.approx(rows[3][m])
        assert b[f"{m}_std"] is None
