"""Threshold rules against a brute-force search over every candidate threshold."""

from __future__ import annotations

import numpy as np
import pytest

from aura.release import choose_threshold, parse_rule


def scores(n: int, seed: int, ties: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(int)
    p = 1 / (1 + np.exp(-(rng.normal(size=n) + 1.2 * y)))
    return y, (np.round(p, 1) if ties else p)


def brute(y: np.ndarray, p: np.ndarray, rule: str) -> float:
    """Every candidate (each score, and above the top score) checked one by one."""
    candidates = sorted({*p.tolist(), float(np.nextafter(p.max(), np.inf))}, reverse=True)
    best: tuple[float, float] | None = None
    allowed: list[float] = []
    for t in candidates:
        pred = p >= t
        tp, fp = np.sum(pred & (y == 1)), np.sum(pred & (y == 0))
        fn = np.sum(~pred & (y == 1))
        tpr, fpr = tp / np.sum(y == 1), fp / np.sum(y == 0)
        if rule.startswith("fpr:"):
            if fpr <= float(rule[4:]):
                allowed.append(t)
            continue
        value = tpr - fpr if rule == "youden" else 2 * tp / max(2 * tp + fp + fn, 1)
        if best is None or value > best[0]:  # strict: ties keep the higher threshold
            best = (value, t)
    if rule.startswith("fpr:"):
        return min(allowed)
    assert best is not None
    return best[1]


@pytest.mark.parametrize("rule", ["youden", "max_f1", "fpr:0.05", "fpr:0.2", "fpr:0"])
@pytest.mark.parametrize("seed,ties", [(0, False), (1, True), (2, False)])
def test_threshold_matches_brute_force(rule: str, seed: int, ties: bool) -> None:
    y, p = scores(120, seed, ties)
    assert choose_threshold(y, p, rule) == brute(y, p, rule)


def test_fpr_rule_meets_its_bound_with_the_highest_tpr() -> None:
    y, p = scores(300, 5, ties=False)
    t = choose_threshold(y, p, "fpr:0.1")
    fpr = np.mean(p[y == 0] >= t)
    assert fpr <= 0.1
    # one candidate lower would break the bound (or there is none)
    lower = p[p < t]
    if lower.size:
        assert np.mean(p[y == 0] >= lower.max()) > 0.1


@pytest.mark.parametrize("rule", ["youdn", "fpr:", "fpr:abc", "fpr:1.5", "f1", ""])
def test_bad_rules_name_the_setting(rule: str) -> None:
    with pytest.raises(ValueError, match=r"release\.threshold"):
        parse_rule(rule)
    with pytest.raises(ValueError, match=r"release\.threshold"):
        choose_threshold([0, 1], [0.2, 0.8], rule)


def test_rule_text_is_normalised() -> None:
    assert str(parse_rule(" FPR:0.050 ")) == "fpr:0.05"
    assert str(parse_rule("Max_F1")) == "max_f1"
