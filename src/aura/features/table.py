"""Feature rows -> a finite table (median imputation + flags) and a float32 matrix.

Imputation rule: a feature value that is NaN or +-inf (undefined for that video, e.g. a
ratio 0/0 on a flat frame, temporal features of a one-frame video, codec cues of a file
without timestamps) is replaced by the median of that column over the rows where it is
finite, or 0.0 when no row has it. Every feature gets a Boolean column
``<name>__imputed`` (True where the value was filled in) so a model can learn from
missingness, plus ``n_imputed`` (count per row). The schema never depends on the data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from aura.features.metadata import is_meta_column
from aura.features.registry import FEATURES, feature_names

FLAG_SUFFIX = "__imputed"
_PREFIX = re.compile(r"^(?:[A-Za-z0-9]+_)*$")


def impute(
    rows: Sequence[Mapping[str, float]],
    *,
    fill: Mapping[str, float] | None = None,
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Apply the imputation rule to feature rows (missing keys count as NaN).

    Returns ``(values, names, imputed)``: float64 (n, F) with no NaN/inf, the feature names
    in column order, and the Boolean (n, F) mask of filled-in cells. ``fill`` gives the
    value per feature instead of the column medians (e.g. medians of a training set).
    """
    names = feature_names()
    x = np.array([[row.get(k, np.nan) for k in names] for row in rows], dtype=np.float64)
    x = x.reshape(len(rows), len(names))
    bad = ~np.isfinite(x)
    for j, name in enumerate(names):
        if not bad[:, j].any():
            continue
        if fill is not None and name in fill:
            value = float(fill[name])
        else:
            good = x[~bad[:, j], j]
            value = float(np.median(good)) if good.size else 0.0
        x[bad[:, j], j] = value
    return x, names, bad


def fill_values(rows: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """The per-feature fill values the rule derives from ``rows`` (to reuse on other rows)."""
    x = np.array([[row.get(k, np.nan) for k in FEATURES] for row in rows], dtype=np.float64)
    x = x.reshape(len(rows), len(FEATURES))
    out = {}
    for j, name in enumerate(FEATURES):
        good = x[np.isfinite(x[:, j]), j]
        out[name] = float(np.median(good)) if good.size else 0.0
    return out


def to_table(
    rows: Sequence[Mapping[str, float]],
    id_columns: Mapping[str, Sequence[object]],
    *,
    prefix: str = "",
    fill: Mapping[str, float] | None = None,
) -> pl.DataFrame:
    """Ids, one finite Float64 column per feature, its ``__imputed`` flag, and ``n_imputed``.

    Feature and flag columns are named ``prefix + name`` (e.g. ``s4_blur_lap_var``) so
    tables of different stages join on their id columns without clashes.
    """
    if not _PREFIX.match(prefix):
        raise ValueError(f"prefix must look like 'abc_' (letters/digits then '_'), got {prefix!r}")
    for col, values in id_columns.items():
        if len(values) != len(rows):
            raise ValueError(f"id column {col!r} has {len(values)} values for {len(rows)} rows")
    x, names, bad = impute(rows, fill=fill)
    own = {prefix + k for k in names} | {prefix + k + FLAG_SUFFIX for k in names}
    if clash := sorted((own | {prefix + "n_imputed"}) & set(id_columns)):
        raise ValueError(f"id columns {clash} clash with feature columns")
    cols: dict[str, pl.Series] = {k: pl.Series(k, list(v)) for k, v in id_columns.items()}
    for j, name in enumerate(names):
        cols[prefix + name] = pl.Series(prefix + name, x[:, j], dtype=pl.Float64)
    for j, name in enumerate(names):
        flag = prefix + name + FLAG_SUFFIX
        cols[flag] = pl.Series(flag, bad[:, j], dtype=pl.Boolean)
    cols[prefix + "n_imputed"] = pl.Series(prefix + "n_imputed", bad.sum(axis=1), dtype=pl.Int32)
    return pl.DataFrame(list(cols.values()))


def feature_columns(table: pl.DataFrame, *, flags: bool = False) -> list[str]:
    """Feature columns of ``table`` (any prefix, table order), then their flags if asked.

    Metadata columns (``meta_*``, :mod:`aura.features.metadata`) are never feature columns,
    even where a name ends like a feature's (``meta_codec_h264``)."""
    feats, flag_cols = [], []
    for col in table.columns:
        if is_meta_column(col):
            continue
        base = col.removesuffix(FLAG_SUFFIX)
        if _is_feature(base):
            (flag_cols if col != base else feats).append(col)
    return feats + (flag_cols if flags else [])


def _is_feature(col: str) -> bool:
    for name in FEATURES:
        if col.endswith(name) and _PREFIX.match(col[: len(col) - len(name)]):
            return True
    return False


def to_matrix(table: pl.DataFrame, *, flags: bool = False) -> tuple[np.ndarray, list[str]]:
    """The feature columns of a :func:`to_table` table (or a join of several) as float32.

    With ``flags`` the ``__imputed`` columns follow as 0.0/1.0. Raises if a value is not
    finite (the table was not built by :func:`to_table`).
    """
    cols = feature_columns(table, flags=flags)
    if not cols:
        return np.zeros((table.height, 0), np.float32), []
    x = table.select(pl.col(c).cast(pl.Float64) for c in cols).to_numpy().astype(np.float32)
    if not np.isfinite(x).all():
        raise ValueError("feature table holds NaN/inf: build it with to_table (imputes)")
    return np.ascontiguousarray(x), cols
