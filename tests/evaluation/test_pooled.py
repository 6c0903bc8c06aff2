"""Tests for aura.evaluation.pooled: weighted metrics against scikit-learn, and what the cascade
bootstrap's intervals do when groups multiply, videos are copied or scores are perfect."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, average_precision_score, f1_score, roc_auc_score

from aura.evaluation import auc_with_ci
from aura.evaluation.pooled import (
    Resamples,
    weighted_accuracy,
    weighted_auc,
    weighted_average_precision,
    weighted_f1,
)


def group_data(n_groups: int, per_group: int = 1, seed: int = 0, shift: float = 1.0):
    """A group-level signal: each group has one label and one latent score shared by its videos
    (plus a little per-video noise)."""
    rng = np.random.default_rng(seed)
    y_group = rng.permutation(np.arange(n_groups) % 2)
    latent = shift * y_group + rng.normal(size=n_groups)
    groups = np.repeat(np.arange(n_groups), per_group)
    y = y_group[groups]
    s = latent[groups] + 0.01 * rng.normal(size=groups.size)
    return y, 1 / (1 + np.exp(-s)), groups.astype(str)


def width(ci: tuple[float, float, float]) -> float:
    return ci[2] - ci[1]


def test_weighted_metrics_match_sklearn_sample_weights_with_ties() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 120)
    s = np.round(np.clip(0.3 * y + rng.uniform(0, 0.7, 120), 0, 1), 1)  # many ties
    groups = rng.integers(0, 40, 120)
    boot = Resamples.draw(groups, 6, seed=1)
    w = boot.counts[:, boot.codes(groups)]
    auc = weighted_auc(y, s, w)
    ap = weighted_average_precision(y, s, w)
    acc = weighted_accuracy(0.5)(y, s, w)
    f1 = weighted_f1(0.5)(y, s, w)
    for b in range(6):
        assert auc[b] == pytest.approx(roc_auc_score(y, s, sample_weight=w[b]))
        assert ap[b] == pytest.approx(average_precision_score(y, s, sample_weight=w[b]))
        assert acc[b] == pytest.approx(accuracy_score(y, s >= 0.5, sample_weight=w[b]))
        assert f1[b] == pytest.approx(f1_score(y, s >= 0.5, sample_weight=w[b]))
    # a resample weighing one class only is undefined, not 0 or 1
    one_class = np.where(y == 1, 1.0, 0.0)[None, :]
    for fn in (weighted_auc, weighted_average_precision, weighted_accuracy(0.5), weighted_f1(0.5)):
        assert np.isnan(fn(y, s, one_class)[0])


def test_resamples_draw_whole_groups() -> None:
    groups = np.array(["a", "a", "b", "c", "c", "c"])
    boot = Resamples.draw(groups, 50, seed=0)
    assert boot.groups.tolist() == ["a", "b", "c"]
    assert (boot.counts.sum(axis=1) == 3).all()  # as many groups drawn as there are
    w = boot.counts[:, boot.codes(groups)]
    assert (w[:, 0] == w[:, 1]).all() and (w[:, 3] == w[:, 5]).all()  # videos move with groups
    with pytest.raises(ValueError, match="outside"):
        boot.codes(np.array(["d"]))


def test_interval_contains_the_point_and_narrows_with_more_groups() -> None:
    small = auc_with_ci(*group_data(30, seed=1), n_boot=500)
    large = auc_with_ci(*group_data(600, seed=1), n_boot=500)
    for point, lo, hi in (small, large):
        assert lo <= point <= hi
    y, s, g = group_data(30, seed=1)
    assert small[0] == pytest.approx(roc_auc_score(y, s))
    assert width(large) < 0.5 * width(small)


def test_copies_within_a_group_do_not_narrow_the_interval() -> None:
    """The same 40 groups with 1 or 10 near-identical videos each: resampling groups gives the
    same interval; resampling videos (each its own group) would claim a far narrower one."""
    y1, s1, g1 = group_data(40, per_group=1, seed=2)
    y10, s10, g10 = group_data(40, per_group=10, seed=2)
    one = auc_with_ci(y1, s1, g1, n_boot=800)
    ten = auc_with_ci(y10, s10, g10, n_boot=800)
    by_video = auc_with_ci(y10, s10, np.arange(y10.size), n_boot=800)
    assert ten[0] == pytest.approx(one[0], abs=0.02)
    assert width(ten) == pytest.approx(width(one), rel=0.1)
    assert width(by_video) < 0.6 * width(ten)


def test_perfect_reversed_and_random_scores() -> None:
    y, _, g = group_data(50, seed=4)
    assert auc_with_ci(y, y.astype(float), g) == (1.0, 1.0, 1.0)
    assert auc_with_ci(y, 1.0 - y, g) == (0.0, 0.0, 0.0)
    rng = np.random.default_rng(5)
    point, lo, hi = auc_with_ci(y, rng.uniform(size=y.size), g, n_boot=500)
    assert lo < 0.5 < hi and abs(point - 0.5) < 0.2


def test_one_class_input_and_one_class_resamples() -> None:
    assert all(math.isnan(v) for v in auc_with_ci(np.ones(5), np.linspace(0, 1, 5), np.arange(5)))
    # two groups, one per class: resamples drawing one group twice are skipped, not scored 0/1
    y, s, g = np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1])
    assert auc_with_ci(y, s, g, n_boot=200) == (1.0, 1.0, 1.0)
    _, lo, hi = auc_with_ci(y, s, g, n_boot=0)
    assert math.isnan(lo) and math.isnan(hi)


def test_seed_reproduces_and_level_widens() -> None:
    y, s, g = group_data(80, seed=6, shift=0.8)
    assert auc_with_ci(y, s, g, seed=3) == auc_with_ci(y, s, g, seed=3)
    assert auc_with_ci(y, s, g, seed=3) != auc_with_ci(y, s, g, seed=4)
    assert width(auc_with_ci(y, s, g, level=0.99)) > width(auc_with_ci(y, s, g, level=0.8))
    with pytest.raises(ValueError, match="level"):
        auc_with_ci(y, s, g, level=1.0)
    with pytest.raises(ValueError, match="1-d"):
        auc_with_ci(y, s[:-1], g)
