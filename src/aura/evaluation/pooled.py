"""Cascade-bootstrap confidence intervals for pooled out-of-fold metrics.

A resample draws the *groups* (cascades merged when they share a video) with replacement; every
video of a drawn group enters with its group's draw count as its weight. The metrics of all
resamples are weighted metrics (Mann-Whitney ROC-AUC, step-wise average precision, accuracy,
F1) computed at once from one sort of the scores. Resamples with a single class are skipped;
the interval is the percentile interval of the others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

#: Resample x video cells handled per chunk, which bounds memory (~16 MB per array).
CHUNK_CELLS = 2_000_000
NAN3 = (float("nan"), float("nan"), float("nan"))

#: A weighted metric: (target, score, weights of shape (B, n)) -> B values, NaN when undefined.
WeightedMetric = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _levels(score: np.ndarray, descending: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sort order of ``score`` and, per sorted position, the start / end (exclusive) of its tie run."""
    order = np.argsort(-score if descending else score, kind="mergesort")
    s = score[order]
    new = np.r_[True, s[1:] != s[:-1]]
    starts_at = np.flatnonzero(new)
    ends_at = np.r_[starts_at[1:], s.size]
    run = np.cumsum(new) - 1
    return order, starts_at[run], ends_at[run]


def _cumsum0(w: np.ndarray) -> np.ndarray:
    """Row-wise cumulative sums with a leading zero column: ``out[:, j] = w[:, :j].sum(1)``."""
    out = np.zeros((w.shape[0], w.shape[1] + 1))
    np.cumsum(w, axis=1, out=out[:, 1:])
    return out


def _ratio(num: np.ndarray, den: np.ndarray, ok: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.full(num.shape, np.nan), where=ok)


def weighted_auc(target: np.ndarray, score: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC-AUC per row of ``weights`` (``(B, n)``); NaN where a row weighs one class only.

    Mann-Whitney: P(score_fake > score_real) + 0.5 P(tie), pairs weighted by ``w_fake * w_real``.
    """
    y = np.asarray(target).astype(bool)
    order, start, end = _levels(np.asarray(score, dtype=np.float64), descending=False)
    pos = y[order]
    w = weights[:, order]
    cn = _cumsum0(w * ~pos)  # real weight below each sorted position
    p = np.flatnonzero(pos)
    wp = w[:, p]
    # real weight strictly below a fake's score plus half its ties: (below start + below end) / 2
    num = 0.5 * (wp * (cn[:, start[p]] + cn[:, end[p]])).sum(axis=1)
    den = wp.sum(axis=1) * cn[:, -1]
    return _ratio(num, den, den > 0)


def weighted_average_precision(
    target: np.ndarray, score: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Average precision (step-wise, as scikit-learn's) per row of ``weights``; NaN for one class."""
    y = np.asarray(target).astype(bool)
    order, _, end = _levels(np.asarray(score, dtype=np.float64), descending=True)
    pos = y[order]
    w = weights[:, order]
    cp, ca = _cumsum0(w * pos), _cumsum0(w)
    p = np.flatnonzero(pos)
    wp = w[:, p]
    tp, seen = cp[:, end[p]], ca[:, end[p]]  # counts at the threshold of each fake's tie run
    precision = np.divide(tp, seen, out=np.zeros_like(tp), where=seen > 0)
    total_pos = cp[:, -1]
    both = (total_pos > 0) & (ca[:, -1] > total_pos)
    return _ratio((wp * precision).sum(axis=1), total_pos, both)


def _confusion(
    target: np.ndarray, score: np.ndarray, weights: np.ndarray, threshold: float
) -> tuple[np.ndarray, ...]:
    y = np.asarray(target).astype(bool)
    pred = np.asarray(score, dtype=np.float64) >= threshold
    cells = np.stack([y & pred, ~y & pred, y & ~pred, ~y & ~pred], axis=1).astype(np.float64)
    tp, fp, fn, tn = (weights @ cells).T  # weight of each confusion cell per resample
    return tp, fp, fn, tn


def weighted_accuracy(threshold: float) -> WeightedMetric:
    """Accuracy at ``score >= threshold`` per row of weights; NaN for one class."""

    def metric(target: np.ndarray, score: np.ndarray, weights: np.ndarray) -> np.ndarray:
        tp, fp, fn, tn = _confusion(target, score, weights, threshold)
        total = tp + fp + fn + tn
        return _ratio(tp + tn, total, ((tp + fn) > 0) & ((fp + tn) > 0))

    return metric


def weighted_f1(threshold: float) -> WeightedMetric:
    """F1 of the fake class at ``score >= threshold`` per row of weights; NaN for one class."""

    def metric(target: np.ndarray, score: np.ndarray, weights: np.ndarray) -> np.ndarray:
        tp, fp, fn, tn = _confusion(target, score, weights, threshold)
        f1 = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros_like(tp), where=tp > 0)
        return np.where(((tp + fn) > 0) & ((fp + tn) > 0), f1, np.nan)

    return metric


def group_codes(groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct groups and each video's index into them."""
    uniq, codes = np.unique(np.asarray(groups), return_inverse=True)
    return uniq, codes.reshape(-1)


@dataclass(frozen=True)
class Resamples:
    """``n_boot`` cascade resamples of ``groups``: ``counts[b, g]`` is how often resample ``b``
    drew group ``groups[g]``. Shared by every model and pair so that their differences are paired.
    """

    groups: np.ndarray
    counts: np.ndarray

    @classmethod
    def draw(cls, groups: np.ndarray, n_boot: int, seed: int) -> Resamples:
        """``n_boot`` resamples of the distinct ``groups``, each drawing as many as there are."""
        uniq = np.unique(np.asarray(groups))
        g = uniq.size
        rng = np.random.default_rng(seed)
        # draws[b] are resample b's g group indices; bincount over offsets counts them per row
        draws = rng.integers(0, g, size=(n_boot, g)) if g else np.zeros((n_boot, 0), int)
        offsets = draws + g * np.arange(n_boot)[:, None]
        counts = np.bincount(offsets.ravel(), minlength=n_boot * g).reshape(n_boot, g)
        return cls(uniq, counts.astype(np.float64))

    @property
    def n_boot(self) -> int:
        return int(self.counts.shape[0])

    def codes(self, groups: np.ndarray) -> np.ndarray:
        """Each video's index into :attr:`groups` (every group must be one of them)."""
        g = np.asarray(groups)
        idx = np.searchsorted(self.groups, g)
        idx = np.clip(idx, 0, max(self.groups.size - 1, 0))
        if g.size and (self.groups.size == 0 or not (self.groups[idx] == g).all()):
            raise ValueError("groups outside the resampled ones")
        return idx

    def chunks(self, codes: np.ndarray) -> Iterator[tuple[slice, np.ndarray]]:
        """``(rows, weights)``: per-video weights ``(rows, n)`` of consecutive resamples."""
        step = max(1, CHUNK_CELLS // max(codes.size, 1))
        for start in range(0, self.n_boot, step):
            rows = slice(start, min(start + step, self.n_boot))
            yield rows, self.counts[rows][:, codes]

    def apply(
        self,
        metrics: dict[str, WeightedMetric],
        target: np.ndarray,
        score: np.ndarray,
        groups: np.ndarray,
    ) -> dict[str, np.ndarray]:
        """Each metric on every resample of the videos ``(target, score, groups)``: ``(B,)`` arrays."""
        codes = self.codes(groups)
        out = {name: np.full(self.n_boot, np.nan) for name in metrics}
        for rows, w in self.chunks(codes):
            for name, fn in metrics.items():
                out[name][rows] = fn(target, score, w)
        return out


def percentile_interval(values: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile interval of the finite ``values`` (NaN pair when there are none)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if not v.size:
        return float("nan"), float("nan")
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(v, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level}")


def auc_with_ci(
    target: np.ndarray,
    score: np.ndarray,
    groups: np.ndarray,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """``(roc_auc, lo, hi)``: pooled ROC-AUC and its cascade-bootstrap percentile interval.

    Resamples draw the distinct ``groups`` with replacement; one-class resamples are skipped.
    NaN triple when ``target`` holds one class; NaN interval when ``n_boot`` is 0.
    """
    t, s, g = np.asarray(target), np.asarray(score, dtype=np.float64), np.asarray(groups)
    if not (t.shape == s.shape == g.shape) or t.ndim != 1:
        raise ValueError(
            "target, score and groups must be 1-d of one length, got shapes "
            f"{t.shape}, {s.shape}, {g.shape}"
        )
    check_level(level)
    if np.unique(t).size < 2:
        return NAN3
    point = float(weighted_auc(t, s, np.ones((1, t.size)))[0])
    boot = Resamples.draw(g, n_boot, seed).apply({"auc": weighted_auc}, t, s, g)["auc"]
    return (point, *percentile_interval(boot, level))
