"""The decision threshold of a detector, chosen on out-of-fold probabilities.

A video is called fake when its probability is ``>= threshold``. Candidates are the observed
scores (each one a point of the ROC curve) plus one just above the largest score (call nothing
fake), so the chosen rule is met exactly on the out-of-fold data:

- ``youden``: maximise TPR - FPR;
- ``max_f1``: maximise F1 of the fake class;
- ``fpr:<x>``: the lowest threshold whose FPR <= x, i.e. the highest TPR at FPR <= x.

Ties go to the highest threshold (the fewest videos called fake).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

RULES = ("youden", "max_f1", "fpr:<x>")
_FPR = re.compile(r"^fpr:(.+)$")


@dataclass(frozen=True)
class ThresholdRule:
    """A parsed ``release.threshold`` value."""

    kind: str  # youden | max_f1 | fpr
    max_fpr: float | None = None

    def __str__(self) -> str:
        return f"fpr:{self.max_fpr:g}" if self.kind == "fpr" else self.kind


def parse_rule(rule: str) -> ThresholdRule:
    """``youden`` | ``max_f1`` | ``fpr:<x>`` (0 <= x <= 1); anything else raises naming
    ``release.threshold``."""
    text = str(rule).strip().lower()
    if text in ("youden", "max_f1"):
        return ThresholdRule(text)
    if m := _FPR.match(text):
        try:
            x = float(m.group(1))
        except ValueError:
            x = float("nan")
        if 0.0 <= x <= 1.0:
            return ThresholdRule("fpr", x)
        raise ValueError(f"release.threshold: {rule!r} needs an FPR between 0 and 1, e.g. fpr:0.05")
    raise ValueError(
        f"release.threshold: unknown rule {rule!r}; expected one of youden, max_f1, fpr:<x> "
        "(e.g. fpr:0.05)"
    )


def operating_points(y: Any, p: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(thresholds, tp, fp, predicted)`` for every candidate threshold, descending."""
    t = np.asarray(y).reshape(-1).astype(int)
    s = np.asarray(p, dtype=np.float64).reshape(-1)
    if t.shape != s.shape or not t.size:
        raise ValueError(f"need one score per label, got {s.size} scores and {t.size} labels")
    if not np.isfinite(s).all():
        raise ValueError("scores contain NaN or inf")
    if len(set(t.tolist())) < 2:
        raise ValueError("choosing a threshold needs both classes in the labels")
    order = np.argsort(-s, kind="stable")
    s_sorted, t_sorted = s[order], t[order]
    # the last index of each run of equal scores: predicting s >= that score
    last = np.r_[np.flatnonzero(np.diff(s_sorted) != 0), s.size - 1]
    tp = np.cumsum(t_sorted)[last]
    fp = np.cumsum(1 - t_sorted)[last]
    thresholds = s_sorted[last]
    above = np.nextafter(s_sorted[0], np.inf)  # call nothing fake
    return (
        np.r_[above, thresholds],
        np.r_[0, tp].astype(float),
        np.r_[0, fp].astype(float),
        np.r_[0, last + 1].astype(float),
    )


def choose_threshold(y: Any, p: Any, rule: str | ThresholdRule) -> float:
    """The threshold on scores ``p`` (labels ``y``: 1 = fake) that ``rule`` picks."""
    parsed = rule if isinstance(rule, ThresholdRule) else parse_rule(rule)
    thresholds, tp, fp, _ = operating_points(y, p)
    n_pos = float(np.sum(np.asarray(y).astype(int) == 1))
    n_neg = float(np.asarray(y).size) - n_pos
    tpr, fpr = tp / n_pos, fp / n_neg
    if parsed.kind == "youden":
        objective = tpr - fpr
    elif parsed.kind == "max_f1":
        objective = 2 * tp / np.maximum(2 * tp + fp + (n_pos - tp), 1.0)
    else:
        assert parsed.max_fpr is not None
        # fpr grows as the threshold falls: the lowest allowed threshold has the highest TPR
        allowed = np.flatnonzero(fpr <= parsed.max_fpr + 1e-12)
        return float(thresholds[allowed[-1]])
    # argmax returns the first maximum: thresholds are descending, so ties keep the highest
    return float(thresholds[int(np.argmax(objective))])
