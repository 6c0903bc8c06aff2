"""Feature baselines: scikit-learn pipelines over the joined stage-2 + stage-4 features.

Each baseline is ``impute → arcsinh → standardise → model``; the arcsinh tames the heavy tails of
raw energies (it is monotone and defined for negatives). The fitted object keeps the exact
feature-name list, and prediction selects columns *by name*, so inference can never misalign.
Both register in the model registry as ``features`` models (``create_model("svm", **cfg)`` is
the unfitted pipeline).

``metadata`` is the shortcut audit: the same logistic regression over the container and probe
metadata columns only (``meta_*``, :mod:`aura.features.metadata`). It shows how much of a score
metadata alone could explain; it is registered ``releasable=False``, so the release never picks
it by itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import polars as pl
from pydantic import Field
from sklearn.calibration import CalibratedClassifierCV
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import LinearSVC

from aura.config import Section
from aura.features.metadata import meta_columns
from aura.features.table import feature_columns
from aura.models.kinds import FEATURES
from aura.models.registry import build_model, model_entry, register_model


class LogisticRegressionSettings(Section):
    """``training.model_params.logistic_regression``."""

    PREFIX: ClassVar[str] = "training.model_params.logistic_regression"

    C: float = Field(1.0, gt=0)  # inverse regularisation strength
    class_weight: Literal["balanced"] | None = "balanced"  # inverse class frequency; null: none
    max_iter: int = Field(5000, ge=1)


class SvmSettings(Section):
    """``training.model_params.svm``: LinearSVC, probabilities from sigmoid calibration."""

    PREFIX: ClassVar[str] = "training.model_params.svm"

    C: float = Field(0.1, gt=0)
    class_weight: Literal["balanced"] | None = "balanced"
    max_iter: int = Field(20000, ge=1)
    calibration_folds: int = Field(3, ge=2)  # CalibratedClassifierCV folds


class MetadataSettings(Section):
    """``training.model_params.metadata``: logistic regression on the ``meta_*`` columns."""

    PREFIX: ClassVar[str] = "training.model_params.metadata"

    C: float = Field(1.0, gt=0)
    class_weight: Literal["balanced"] | None = "balanced"
    max_iter: int = Field(5000, ge=1)


def _pipeline(model: Any) -> Pipeline:
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median")),
            ("arcsinh", FunctionTransformer(np.arcsinh, feature_names_out="one-to-one")),
            ("scale", StandardScaler()),
            ("model", model),
        ]
    )


@register_model(kind=FEATURES, settings=LogisticRegressionSettings)
def logistic_regression(cfg: LogisticRegressionSettings, *, seed: int = 0) -> Pipeline:
    """Logistic regression over the arcsinh-scaled, standardised features."""
    return _pipeline(
        LogisticRegression(
            C=cfg.C, class_weight=cfg.class_weight, max_iter=cfg.max_iter, random_state=seed
        )
    )


@register_model(kind=FEATURES, settings=SvmSettings)
def svm(cfg: SvmSettings, *, seed: int = 0) -> Pipeline:
    """Linear SVM over the arcsinh-scaled features, sigmoid-calibrated probabilities."""
    svc = LinearSVC(
        C=cfg.C, class_weight=cfg.class_weight, max_iter=cfg.max_iter, random_state=seed
    )
    return _pipeline(CalibratedClassifierCV(svc, method="sigmoid", cv=cfg.calibration_folds))


@register_model(kind=FEATURES, settings=MetadataSettings, releasable=False)
def metadata(cfg: MetadataSettings, *, seed: int = 0) -> Pipeline:
    """Shortcut audit: logistic regression on container/probe metadata only (meta_* columns)."""
    return _pipeline(
        LogisticRegression(
            C=cfg.C, class_weight=cfg.class_weight, max_iter=cfg.max_iter, random_state=seed
        )
    )


#: The columns a features model reads, by model name; any other reads the forensic features
#: (:func:`aura.features.table.feature_columns`, which never includes ``meta_*``).
INPUT_COLUMNS: dict[str, Callable[[pl.DataFrame], list[str]]] = {"metadata": meta_columns}


def input_columns(name: str, table: pl.DataFrame) -> list[str]:
    """The columns of ``table`` features model ``name`` trains on, in table order."""
    return INPUT_COLUMNS.get(name, feature_columns)(table)


def build_baseline(
    name: str, params: Section | Mapping[str, Any] | None = None, *, seed: int = 0
) -> Pipeline:
    """The unfitted pipeline of features model ``name``; unknown names or keys raise
    ``ValueError`` naming them."""
    if (kind := model_entry(name).kind) != FEATURES:
        raise ValueError(f"{name!r} is a {kind.name} model, not a features baseline")
    return build_model(name, params, seed=seed)


@dataclass
class FittedBaseline:
    """A fitted pipeline plus the ordered feature names it was trained on."""

    name: str
    pipeline: Pipeline
    feature_names: list[str]

    def matrix(self, table: pl.DataFrame) -> np.ndarray:
        """The model's columns of ``table``, in training order; missing columns raise by name."""
        if missing := [c for c in self.feature_names if c not in table.columns]:
            raise ValueError(f"{self.name}: features missing from the input table: {missing[:5]}")
        return table.select(self.feature_names).to_numpy().astype(np.float64)

    def predict_proba(self, table: pl.DataFrame) -> np.ndarray:
        """Probability of fake (label 1) for each row of ``table``."""
        return self.pipeline.predict_proba(self.matrix(table))[:, 1]


def join_features(stage2: pl.DataFrame, stage4: pl.DataFrame | None = None) -> pl.DataFrame:
    """Stage-2 table joined with the stage-4 feature columns on ``video_id`` (inner join)."""
    if stage4 is None:
        return stage2
    return stage2.join(
        stage4.select("video_id", *feature_columns(stage4)), on="video_id", how="inner"
    )


def fit_baseline(
    name: str,
    features: pl.DataFrame,
    train_ids: Sequence[str],
    params: Section | Mapping[str, Any] | None = None,
    *,
    seed: int = 0,
) -> FittedBaseline:
    """Fit ``name`` on the rows of ``features`` whose ``video_id`` is in ``train_ids``."""
    train = features.filter(pl.col("video_id").is_in(list(train_ids)))
    if train.height < len(set(train_ids)):
        raise ValueError(
            f"{name}: {len(set(train_ids)) - train.height} training videos have no features"
        )
    y = train["target"].to_numpy()
    if len(set(y.tolist())) < 2:
        raise ValueError(f"{name}: training rows hold a single class; cannot fit")
    names = input_columns(name, features)
    if not names:
        raise ValueError(f"{name}: the input table has none of its columns (rebuild it)")
    model = FittedBaseline(name, build_baseline(name, params, seed=seed), names)
    model.pipeline.fit(model.matrix(train), y)
    return model
