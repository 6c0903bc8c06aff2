"""Release nodes: choose the models, collect (or refit) their members, calibrate, threshold and
describe the detector. The work is :mod:`aura.release`'s; these nodes only pick inputs."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from aura.models import model_entry
from aura.parameters import resolve
from aura.pipelines.config import CorpusConfig, ReleaseConfig
from aura.release import Detector, Member
from aura.release.build import assemble, fold_members, refit_members
from aura.release.model_card import render_model_card
from aura.release.oof import OOF_METRICS, best_model
from aura.training.config import TrainingConfig

log = logging.getLogger(__name__)


def choose_models(
    cv_predictions: pl.DataFrame,
    release: ReleaseConfig | Mapping[str, Any],
    training: TrainingConfig | Mapping[str, Any],
) -> list[str]:
    """``release.models``, or the trained model with the best pooled out-of-fold ROC-AUC among
    the releasable ones (an audit model such as ``metadata`` is registered
    ``releasable=False``: reported, never picked by default)."""
    release = ReleaseConfig.from_params(release)
    training = TrainingConfig.from_params(training)
    if release.models:
        if extra := [m for m in release.models if m not in training.models]:
            raise ValueError(f"release.models lists {extra}, not in training.models")
        return list(release.models)
    candidates = [m for m in training.models if model_entry(m).releasable]
    if not candidates:
        raise ValueError(
            f"release.models is null and none of training.models {list(training.models)} may be "
            "released by default (audit models only); list the models in release.models"
        )
    best = best_model(cv_predictions, candidates)
    log.info("release: %s has the best pooled out-of-fold ROC-AUC", best)
    return [best]


def release_members(
    models: list[str],
    release: ReleaseConfig | Mapping[str, Any],
    training: TrainingConfig | Mapping[str, Any],
    cv_folds: pl.DataFrame,
    model_input_table: pl.DataFrame,
    scaled_metadata: pl.DataFrame,
    video_index: pl.DataFrame,
    augmented_metadata: pl.DataFrame,
    *artifacts: Any,
    cells: Sequence[tuple[str, int]],
) -> list[Member]:
    """The detector's members: the fold models of ``models``, or one refit model each.

    ``artifacts`` are the ``<model>.fold_<k>.model`` datasets of ``cells``, in that order.
    """
    release = ReleaseConfig.from_params(release)
    training = TrainingConfig.from_params(training)
    if len(artifacts) != len(cells):
        raise ValueError(f"got {len(artifacts)} fold models for {len(cells)} grid cells")
    by_cell = dict(zip(cells, artifacts, strict=True))
    if release.strategy == "fold_ensemble":
        return fold_members(by_cell, models)
    return refit_members(
        by_cell,
        models,
        cv_folds,
        model_input_table,
        scaled_metadata,
        training,
        video_index,
        augmented_metadata,
    )


def assemble_detector(
    members: list[Member],
    cv_predictions: pl.DataFrame,
    cv_folds: pl.DataFrame,
    release: ReleaseConfig | Mapping[str, Any],
    parameters: Mapping[str, Any],
) -> tuple[Detector, pl.DataFrame]:
    """The detector (calibration and threshold fitted on the out-of-fold predictions) and
    ``release_metrics``: its out-of-fold metrics at the chosen threshold, one row."""
    release = ReleaseConfig.from_params(release)
    detector = assemble(
        members,
        strategy=release.strategy,
        cv_predictions=cv_predictions,
        cv_folds=cv_folds,
        config=resolve(parameters),
        calibration=release.calibration,
        threshold_rule=release.threshold,
    )
    m = detector.manifest
    row = {
        "models": ",".join(m.models),
        "strategy": m.strategy,
        "n_members": len(detector.members),
        "calibration": release.calibration,
        "threshold_rule": m.threshold_rule,
        **{k: m.oof_metrics[k] for k in OOF_METRICS},
    }
    log.info(
        "release: %s (%s, %d members) threshold %.4f (%s): out-of-fold f1 %.3f, fpr %.3f",
        row["models"],
        m.strategy,
        row["n_members"],
        m.threshold,
        m.threshold_rule,
        m.oof_metrics["f1"],
        m.oof_metrics["fpr"],
    )
    return detector, pl.DataFrame([row])


def model_card(
    detector: Detector,
    release_metrics: pl.DataFrame,
    cv_summary: pl.DataFrame,
    cv_comparisons: pl.DataFrame,
    cv_slices: pl.DataFrame,
    robustness_metrics: pl.DataFrame,
    run_facts: Mapping[str, Any],
    corpus: CorpusConfig | Mapping[str, Any],
) -> str:
    """``MODEL_CARD.md``: the released detector's Hugging Face model card, from the run's data."""
    return render_model_card(
        detector,
        release_metrics,
        cv_summary,
        cv_comparisons,
        cv_slices,
        robustness_metrics,
        run_facts,
        CorpusConfig.from_params(corpus),
    )
