"""Models: scikit-learn feature baselines now; the deep video model registry comes next."""

from aura.models.baselines import (
    BASELINES,
    FittedBaseline,
    build_baseline,
    fit_baseline,
    join_features,
)

__all__ = ["BASELINES", "FittedBaseline", "build_baseline", "fit_baseline", "join_features"]
