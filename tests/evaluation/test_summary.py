"""Tests for aura.evaluation.summary: the pooled table per model and the paired comparisons."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from aura.evaluation import (
    auc_with_ci,
    binary_metrics,
    metrics_table,
    paired_comparisons,
    pooled_summary,
)
from aura.evaluation.summary import INTERVAL_METRICS, POOLED_METRICS, pooled_columns
from aura.release.oof import pooled_metrics


def predictions(
    strengths: dict[str, float], n_groups: int = 120, n_folds: int = 3, seed: int = 0
) -> pl.DataFrame:
    """One row per (model, video): 1-3 videos per cascade group, a group-level label, and each
    model's score = ``strength`` x label + its own noise (strength 0: a random model)."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 4, n_groups)
    groups = np.repeat(np.arange(n_groups), sizes)
    y = (rng.permutation(n_groups) % 2)[groups]
    fold = (groups % n_folds).astype(int)
    frames = []
    for model, strength in strengths.items():
        z = strength * y + rng.normal(size=y.size)
        frames.append(
            pl.DataFrame(
                {
                    "model": model,
                    "fold": fold,
                    "video_id": [f"v{i}" for i in range(y.size)],
                    "group_id": [f"g{g}" for g in groups],
                    "target": y,
                    "score": 1 / (1 + np.exp(-z)),
                }
            )
        )
    return pl.concat(frames)


def test_pooled_summary_columns_points_and_intervals() -> None:
    preds = predictions({"strong": 2.0, "weak": 0.5})
    summary = pooled_summary(preds, metrics_table(preds), threshold=0.4, n_boot=400, seed=1)
    assert summary.columns[: 1 + len(pooled_columns())] == ["model", *pooled_columns()]
    assert "roc_auc_mean" in summary.columns and "f1_std" in summary.columns  # fold view kept
    assert summary["model"].to_list() == ["strong", "weak"]
    for row in summary.iter_rows(named=True):
        rows = preds.filter(pl.col("model") == row["model"])
        expected = binary_metrics(rows["target"], rows["score"], threshold=0.4)
        for m in POOLED_METRICS:
            assert row[m] == pytest.approx(expected[m])
        assert row["n_videos"] == rows.height and row["n_groups"] == 120 and row["n_folds"] == 3
        assert row["n_fake"] == rows["target"].sum() and row["n_boot"] == 400
        for m in INTERVAL_METRICS:
            assert row[f"{m}_lo"] <= row[m] <= row[f"{m}_hi"], m
        # the same resamples as auc_with_ci on this model's rows alone
        ci = auc_with_ci(rows["target"], rows["score"], rows["group_id"], n_boot=400, seed=1)
        assert (row["roc_auc"], row["roc_auc_lo"], row["roc_auc_hi"]) == pytest.approx(ci)
    strong, weak = summary.row(0, named=True), summary.row(1, named=True)
    assert strong["roc_auc_lo"] > weak["roc_auc_hi"]


def test_one_class_model_is_listed_without_metrics_and_no_bootstrap_needs_no_groups() -> None:
    preds = predictions({"m": 1.0})
    fakes = preds.filter(pl.col("target") == 1).with_columns(model=pl.lit("fakes_only"))
    summary = pooled_summary(pl.concat([preds, fakes]), n_boot=100)
    row = summary.filter(pl.col("model") == "fakes_only").row(0, named=True)
    assert row["n_videos"] == fakes.height and row["n_real"] == 0
    assert all(row[c] is None for c in ("roc_auc", "roc_auc_lo", "pr_auc", "eer", "f1"))
    bare = pooled_summary(preds.drop("group_id"), n_boot=0)
    assert bare["roc_auc_lo"].to_list() == [None] and bare["n_groups"].to_list() == [None]
    with pytest.raises(ValueError, match="group_id"):
        pooled_summary(preds.drop("group_id"), n_boot=10)


def test_release_pooled_metrics_are_the_summary_points() -> None:
    preds = predictions({"a": 1.0, "b": 0.0})
    one_class = preds.filter(pl.col("target") == 0).with_columns(model=pl.lit("c"))
    got = pooled_metrics(pl.concat([preds, one_class]))
    assert sorted(got) == ["a", "b"]  # c scores one class only
    rows = preds.filter(pl.col("model") == "a")
    expected = binary_metrics(rows["target"], rows["score"])
    assert got["a"] == {
        **{k: pytest.approx(expected[k]) for k in ("roc_auc", "pr_auc", "eer", "ece")},
        "n_val": rows.height,
        "n_folds": 3,
    }


def test_paired_comparison_detects_a_real_difference_and_not_a_null_one() -> None:
    preds = predictions({"good": 1.5, "same_a": 0.6, "same_b": 0.6}, n_groups=300)
    table = paired_comparisons(preds, n_boot=500)
    pairs = {(r["model_a"], r["model_b"]): r for r in table.iter_rows(named=True)}
    assert sorted(pairs) == [("good", "same_a"), ("good", "same_b"), ("same_a", "same_b")]
    real = pairs[("good", "same_a")]
    a = preds.filter(pl.col("model") == "good")
    b = preds.filter(pl.col("model") == "same_a")
    assert real["roc_auc_a"] == pytest.approx(roc_auc_score(a["target"], a["score"]))
    assert real["roc_auc_diff"] == pytest.approx(real["roc_auc_a"] - real["roc_auc_b"])
    assert real["roc_auc_b"] == pytest.approx(roc_auc_score(b["target"], b["score"]))
    assert 0 < real["roc_auc_diff_lo"] <= real["roc_auc_diff"] <= real["roc_auc_diff_hi"]
    assert real["significant"] is True
    null = pairs[("same_a", "same_b")]
    assert null["roc_auc_diff_lo"] < 0 < null["roc_auc_diff_hi"]
    assert null["significant"] is False


def test_pairs_share_resamples_and_use_only_shared_videos() -> None:
    preds = predictions({"a": 1.0, "b": 1.0})
    # the same scores under two names: every resample gives the same AUC, so the difference is 0
    twin = preds.filter(pl.col("model") == "a").with_columns(model=pl.lit("a_twin"))
    row = paired_comparisons(pl.concat([preds, twin]), n_boot=200).row(0, named=True)
    assert (row["model_a"], row["model_b"]) == ("a", "a_twin")
    assert (row["roc_auc_diff"], row["roc_auc_diff_lo"], row["roc_auc_diff_hi"]) == (0, 0, 0)
    assert row["significant"] is False
    # b scored only half the videos: the pair is compared on those, a's AUC there too
    half = preds.filter(
        (pl.col("model") == "a") | (pl.col("video_id").str.slice(1).cast(int) % 2 == 0)
    )
    row = paired_comparisons(half, n_boot=200).row(0, named=True)
    shared = half.filter(pl.col("model") == "b")["video_id"]
    a_there = half.filter((pl.col("model") == "a") & pl.col("video_id").is_in(shared.implode()))
    assert row["n_videos"] == shared.len()
    assert row["roc_auc_a"] == pytest.approx(roc_auc_score(a_there["target"], a_there["score"]))


def test_single_model_has_no_pairs_and_no_bootstrap_has_no_verdict() -> None:
    preds = predictions({"a": 1.0, "b": 0.0})
    assert paired_comparisons(preds.filter(pl.col("model") == "a")).height == 0
    row = paired_comparisons(preds, n_boot=0).row(0, named=True)
    assert row["roc_auc_diff"] is not None and row["significant"] is None
