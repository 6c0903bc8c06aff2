"""Pooled out-of-fold metrics by slice: platform, resolution, duration and codec, per model.

Slice attributes come from ``video_index`` (``width, height, duration_s, codec``) joined on
``video_id``; a missing attribute falls in the ``unknown`` slice. A slice with too few videos or a
single class is listed with a ``note`` and null metrics rather than scored.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from aura.evaluation.metrics import METRICS, binary_metrics
from aura.evaluation.pooled import auc_with_ci
from aura.evaluation.summary import finite

UNKNOWN = "unknown"
#: Slice dimensions in report order.
DIMENSIONS: tuple[str, ...] = ("platform", "resolution", "duration", "codec")
#: Resolution buckets by the shorter side in pixels: (label, upper bound inclusive).
RESOLUTION_BUCKETS: tuple[tuple[str, float], ...] = (
    ("<=240", 240),
    ("<=360", 360),
    ("<=480", 480),
    ("<=720", 720),
    (">720", float("inf")),
)
#: Duration buckets in seconds: (label, upper bound exclusive).
DURATION_BUCKETS: tuple[tuple[str, float], ...] = (
    ("<5 s", 5.0),
    ("5-15 s", 15.0),
    ("15-60 s", 60.0),
    (">=60 s", float("inf")),
)
ATTRIBUTES = ("width", "height", "duration_s", "codec")
COUNTS = ("n", "n_real", "n_fake", "n_groups")


def _bucket(value: pl.Expr, buckets: tuple[tuple[str, float], ...], closed: bool) -> pl.Expr:
    expr: Any = pl.when(value.is_null()).then(pl.lit(UNKNOWN))
    for label, bound in buckets:
        expr = expr.when(value <= bound if closed else value < bound).then(pl.lit(label))
    return expr.otherwise(pl.lit(UNKNOWN))


def slice_attributes(predictions: pl.DataFrame, video_index: pl.DataFrame) -> pl.DataFrame:
    """``predictions`` with one string column per :data:`DIMENSIONS` (``unknown`` if missing)."""
    have = [c for c in ATTRIBUTES if c in video_index.columns]
    if "platform" not in predictions.columns and "platform" in video_index.columns:
        have.append("platform")
    attrs = video_index.select("video_id", *have).unique("video_id", keep="first")
    out = predictions.join(attrs, on="video_id", how="left", suffix="_index")
    for c in (*ATTRIBUTES, "platform"):
        if c not in out.columns:
            out = out.with_columns(pl.lit(None).alias(c))
    short = pl.min_horizontal(pl.col("width").cast(pl.Float64), pl.col("height").cast(pl.Float64))
    return out.with_columns(
        pl.col("platform").cast(pl.String).fill_null(UNKNOWN).alias("platform"),
        _bucket(short, RESOLUTION_BUCKETS, closed=True).alias("resolution"),
        _bucket(pl.col("duration_s").cast(pl.Float64), DURATION_BUCKETS, closed=False).alias(
            "duration"
        ),
        pl.col("codec").cast(pl.String).fill_null(UNKNOWN).alias("codec"),
    )


def _order(dimension: str, values: list[str]) -> list[str]:
    fixed = {"resolution": RESOLUTION_BUCKETS, "duration": DURATION_BUCKETS}.get(dimension)
    rank = {label: i for i, (label, _) in enumerate(fixed)} if fixed else {}
    return sorted(values, key=lambda v: (v == UNKNOWN, rank.get(v, 0), v))


def slice_columns() -> list[str]:
    """Columns of :func:`slice_table`, in order."""
    metrics = ["roc_auc", "roc_auc_lo", "roc_auc_hi", *(m for m in METRICS if m != "roc_auc")]
    return ["model", "slice", "value", *COUNTS, "note", *metrics, "threshold"]


def _schema() -> dict[str, pl.DataType]:
    schema: dict[str, pl.DataType] = {}
    for c in slice_columns():
        if c in ("model", "slice", "value", "note"):
            schema[c] = pl.String()
        else:
            schema[c] = pl.Int64() if c in COUNTS else pl.Float64()
    return schema


def _slice_row(
    rows: pl.DataFrame,
    *,
    min_videos: int,
    threshold: float,
    n_bins: int,
    n_boot: int,
    seed: int,
    level: float,
) -> dict[str, Any]:
    y = rows["target"].to_numpy().astype(int)
    n_fake = int(y.sum())
    row: dict[str, Any] = {
        "n": int(y.size),
        "n_real": int(y.size - n_fake),
        "n_fake": n_fake,
        "n_groups": rows["group_id"].n_unique(),
        "threshold": float(threshold),
    }
    if y.size < min_videos:
        return {**row, "note": f"not scored: {y.size} videos, fewer than {min_videos}"}
    if n_fake in (0, y.size):
        kind = "fake" if n_fake else "real"
        return {**row, "note": f"not scored: one class only (all {y.size} {kind})"}
    s = rows["score"].to_numpy().astype(np.float64)
    values = binary_metrics(y, s, threshold=threshold, n_bins=n_bins)
    _, lo, hi = auc_with_ci(
        y, s, rows["group_id"].cast(pl.String).to_numpy(), n_boot=n_boot, seed=seed, level=level
    )
    return {
        **row,
        **{m: values[m] for m in METRICS},
        "roc_auc_lo": finite(lo),
        "roc_auc_hi": finite(hi),
    }


def slice_table(
    predictions: pl.DataFrame,
    video_index: pl.DataFrame,
    *,
    min_videos: int = 10,
    threshold: float = 0.5,
    n_bins: int = 10,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> pl.DataFrame:
    """One row per (model, slice dimension, value): counts, ``note`` (why not scored, else
    null), pooled metrics and the cascade-bootstrap interval of ROC-AUC.

    ``predictions`` is ``cv_predictions`` (``model, video_id, group_id, target, score``).
    """
    need = ("model", "video_id", "group_id", "target", "score")
    if missing := [c for c in need if c not in predictions.columns]:
        raise ValueError(f"cv_predictions lacks columns {missing}; has {predictions.columns}")
    if "video_id" not in video_index.columns:
        raise ValueError("video_index lacks column video_id")
    table = slice_attributes(predictions, video_index)
    out: list[dict[str, Any]] = []
    for model in sorted(str(m) for m in table["model"].unique()):
        mine = table.filter(pl.col("model") == model)
        for dim in DIMENSIONS:
            for value in _order(dim, [str(v) for v in mine[dim].unique()]):
                rows = mine.filter(pl.col(dim) == value)
                cell = _slice_row(
                    rows,
                    min_videos=min_videos,
                    threshold=threshold,
                    n_bins=n_bins,
                    n_boot=n_boot,
                    seed=seed,
                    level=level,
                )
                out.append({"model": model, "slice": dim, "value": value, **cell})
    return pl.DataFrame(out, schema=_schema(), orient="row")
