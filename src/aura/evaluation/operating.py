"""Operating points and curves of binary scores (label 1 = fake is the positive class).

:func:`operating_point` is the one place a threshold turns scores into confusion counts and the
rates read from them (precision, recall, F1, FPR, accuracy): the report's confusion matrices,
the release's out-of-fold metrics at its threshold and the dashboard's threshold explorer all
call it. :func:`curve_points` gives the ROC and precision-recall curves as tables (scikit-learn's
curves), for interactive plots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl
from sklearn.metrics import precision_recall_curve, roc_curve


@dataclass(frozen=True)
class OperatingPoint:
    """Confusion counts of ``score >= threshold`` (called fake) against the labels."""

    threshold: float
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def precision(self) -> float:
        """Of the videos called fake, the share that are fake (0 when none is called fake)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        """True positive rate: of the fake videos, the share called fake (0 without fakes)."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.tp else 0.0

    @property
    def fpr(self) -> float:
        """False positive rate: of the real videos, the share called fake (0 without reals)."""
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else 0.0

    @property
    def accuracy(self) -> float:
        return (self.tp + self.tn) / self.n if self.n else 0.0

    def matrix(self) -> np.ndarray:
        """``[[tn, fp], [fn, tp]]``: rows actual (real, fake), columns predicted (real, fake)."""
        return np.array([[self.tn, self.fp], [self.fn, self.tp]], dtype=np.int64)


def operating_point(y_true: Any, y_score: Any, threshold: float) -> OperatingPoint:
    """The confusion counts of calling a video fake iff ``score >= threshold``.

    ``y_true`` holds 0/1 labels, ``y_score`` one finite score per label (any scale: the
    threshold is compared as is). One class only is allowed (its other counts are 0).
    """
    t = np.asarray(y_true).reshape(-1)
    s = np.asarray(y_score, dtype=np.float64).reshape(-1)
    if t.shape != s.shape:
        raise ValueError(f"need one score per label, got {s.size} scores and {t.size} labels")
    if not np.isin(t, (0, 1)).all():
        raise ValueError(f"labels must be 0/1, got {np.unique(t).tolist()}")
    if not np.isfinite(s).all():
        raise ValueError("scores contain NaN or inf")
    if not np.isfinite(threshold):
        raise ValueError(f"threshold must be finite, got {threshold}")
    fake = t.astype(int) == 1
    called = s >= threshold
    return OperatingPoint(
        threshold=float(threshold),
        tp=int(np.sum(called & fake)),
        fp=int(np.sum(called & ~fake)),
        fn=int(np.sum(~called & fake)),
        tn=int(np.sum(~called & ~fake)),
    )


def curve_points(
    predictions: pl.DataFrame,
    kind: Literal["roc", "pr"],
    by: Sequence[str] = ("model", "fold"),
) -> pl.DataFrame:
    """The ROC (``x`` = FPR, ``y`` = TPR) or precision-recall (``x`` = recall, ``y`` =
    precision) curve of each ``by`` group of ``predictions`` (``target``, ``score``), one row
    per curve point with the ``by`` columns and ``threshold``. Groups with one class are left
    out (no curve exists)."""
    if kind not in ("roc", "pr"):
        raise ValueError(f"kind must be 'roc' or 'pr', got {kind!r}")
    by = list(by)
    missing = [c for c in (*by, "target", "score") if c not in predictions.columns]
    if missing:
        raise ValueError(f"predictions missing columns {missing}; have {predictions.columns}")
    frames = []
    for key, rows in predictions.sort(by).group_by(by, maintain_order=True):
        y = rows["target"].to_numpy().astype(int)
        s = rows["score"].cast(pl.Float64).to_numpy()
        if np.unique(y).size < 2:
            continue
        if kind == "roc":
            x, yy, thr = roc_curve(y, s)
        else:
            yy, x, thr = precision_recall_curve(y, s)
            thr = np.r_[thr, np.inf]  # the last point (recall 0) has no threshold
        frame = pl.DataFrame({"x": x, "y": yy, "threshold": np.asarray(thr, dtype=np.float64)})
        frames.append(
            frame.with_columns(
                pl.lit(v, dtype=predictions.schema[c]).alias(c)
                for c, v in zip(by, key, strict=True)
            ).select(*by, "x", "y", "threshold")
        )
    if not frames:
        schema = {c: predictions.schema[c] for c in by}
        return pl.DataFrame(
            schema={**schema, "x": pl.Float64, "y": pl.Float64, "threshold": pl.Float64}
        )
    return pl.concat(frames)
