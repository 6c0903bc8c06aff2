"""Why a feature baseline scored a video: per-feature contributions to its linear score.

A baseline is ``impute → arcsinh → standardise → linear model``, so its decision value is
``intercept + Σ coef_j · z_j`` with ``z`` the row after the first three steps. The contribution
of feature j is ``coef_j · z_j`` (standardised coefficient × standardised value): positive pushes
towards fake. For the calibrated LinearSVC the coefficients are the mean over the calibrated
classifiers' fitted LinearSVCs (the probability is a monotone map of each one's decision value).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import polars as pl
from sklearn.calibration import CalibratedClassifierCV

from aura.features import FEATURES, FLAG_SUFFIX, GROUPS
from aura.models.baselines import FittedBaseline
from aura.pipelines.config import FeaturesConfig, ScaledFeaturesConfig


def default_stage_prefixes() -> dict[str, str]:
    """Column prefix → stage label, from the ``features`` / ``scaled_features`` schema defaults."""
    return {
        str(ScaledFeaturesConfig.model_fields["prefix"].default): "stage 4",
        str(FeaturesConfig.model_fields["prefix"].default): "stage 2",
    }


@dataclass(frozen=True)
class FeatureInfo:
    """What a table column is: the registered feature, its group, stage and description."""

    column: str
    feature: str
    group: str
    stage: str
    description: str


@dataclass(frozen=True)
class Contribution(FeatureInfo):
    """One feature's share of a baseline's decision value for one row."""

    value: float  # raw table value
    standardised: float  # after impute → arcsinh → standardise
    coefficient: float  # linear coefficient on the standardised value
    contribution: float  # coefficient × standardised (> 0: towards fake)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def describe_column(column: str, prefixes: Mapping[str, str] | None = None) -> FeatureInfo:
    """Map a feature-table column (``s4_blur_lap_var``, ``noise_res_cv__imputed``) back to its
    registered feature; ``prefixes`` maps column prefix → stage label (default: the config
    schema's, ``"" → stage 2``, ``"s4_" → stage 4``). Unknown columns keep their own name."""
    prefixes = default_stage_prefixes() if prefixes is None else prefixes
    base = column.removesuffix(FLAG_SUFFIX)
    flag = base != column
    for prefix in sorted(prefixes, key=len, reverse=True):  # longest first: "" matches all
        name = base[len(prefix) :]
        if base.startswith(prefix) and name in FEATURES:
            group = next(g.name for g in GROUPS.values() if name in g.features)
            doc = FEATURES[name]
            if flag:
                doc = f"value was missing and imputed: {doc}"
            return FeatureInfo(column, name, group, prefixes[prefix], doc)
    return FeatureInfo(column, base, "", "", "(not a registered feature)")


def linear_coefficients(baseline: FittedBaseline) -> tuple[np.ndarray, float]:
    """``(coef (F,), intercept)`` of the baseline's final linear model on standardised inputs."""
    model = baseline.pipeline[-1]
    if isinstance(model, CalibratedClassifierCV):
        fitted = [c.estimator for c in model.calibrated_classifiers_]
        coef = np.mean([np.ravel(m.coef_) for m in fitted], axis=0)
        intercept = float(np.mean([np.ravel(m.intercept_)[0] for m in fitted]))
    elif hasattr(model, "coef_"):
        coef, intercept = np.ravel(model.coef_), float(np.ravel(model.intercept_)[0])
    else:
        raise TypeError(f"{baseline.name}: {type(model).__name__} is not a linear model")
    kept = _kept_columns(baseline)
    if coef.shape != (len(kept),):
        raise ValueError(f"{baseline.name}: {coef.size} coefficients for {len(kept)} features")
    return coef.astype(np.float64), intercept


def _kept_columns(baseline: FittedBaseline) -> np.ndarray:
    """Indices (into ``feature_names``) of the columns that reach the linear model: the imputer
    drops a column that had no value in any training row."""
    imputer = baseline.pipeline[0]
    stats = getattr(imputer, "statistics_", None)
    if stats is None or getattr(imputer, "keep_empty_features", False):
        return np.arange(len(baseline.feature_names))
    return np.flatnonzero(~np.isnan(np.asarray(stats, dtype=np.float64)))


def feature_contributions(
    baseline: FittedBaseline,
    row: pl.DataFrame,
    top_k: int | None = 10,
    *,
    prefixes: Mapping[str, str] | None = None,
) -> list[Contribution]:
    """The ``top_k`` largest |contributions| of ``row`` (one table row) to ``baseline``'s
    decision value, largest first; ``top_k=None``: every feature. Missing columns raise
    ``ValueError`` naming them (as :meth:`FittedBaseline.matrix` does)."""
    if row.height != 1:
        raise ValueError(f"{baseline.name}: explain one row at a time, got {row.height} rows")
    x = baseline.matrix(row)
    z = np.asarray(baseline.pipeline[:-1].transform(x), dtype=np.float64)[0]
    coef, _ = linear_coefficients(baseline)
    kept = _kept_columns(baseline)  # z and coef are over these columns
    contrib = coef * z
    order = np.argsort(-np.abs(contrib), kind="stable")
    if top_k is not None:
        order = order[: max(int(top_k), 0)]
    out = []
    for j in order:
        info = describe_column(baseline.feature_names[kept[j]], prefixes)
        out.append(
            Contribution(
                **asdict(info),
                value=float(x[0, kept[j]]),
                standardised=float(z[j]),
                coefficient=float(coef[j]),
                contribution=float(contrib[j]),
            )
        )
    return out
