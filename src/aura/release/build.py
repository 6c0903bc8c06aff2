"""Assembling a detector from a finished cross-validation run.

Strategies (``release.strategy``):

- ``fold_ensemble``: the K fold models of each released model, as trained (no retraining).
- ``refit``: each released model trained once on every usable video in ``cv_folds`` (originals
  and variants). Feature baselines: :func:`~aura.models.fit_baseline` on all those rows of
  ``model_input_table``. Clip models: :func:`~aura.training.fit_clip_model` for exactly
  ``median(best epoch + 1)`` epochs of the fold fits (each fold's epoch was chosen on its inner
  selection set, ``cv_folds`` ``inner_role`` ``select``), and the *last* epoch's weights are
  released. No held-out data is left, so nothing is selected: the loop gets no selection set
  (no validation, no early stopping).

Either way calibration and threshold are fitted on the out-of-fold predictions of the released
models (several models: the mean of their out-of-fold logits per video). For ``refit`` these are
the fold models' scores, a close stand-in for the refit model that has no out-of-fold scores.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch

import aura
from aura.models.artifacts import ClipModelConfig, FitReport, SkippedCell, TrainedClipModel
from aura.models.baselines import FittedBaseline, fit_baseline
from aura.release.calibration import Calibration, fit_calibration
from aura.release.detector import Detector, DetectorManifest, Member, sampler_settings
from aura.release.oof import ensemble_oof, metrics_at, pooled_metrics
from aura.release.threshold import choose_threshold, parse_rule
from aura.tracking import config_hash, git_commit

log = logging.getLogger(__name__)


def kind_of(artifact: Any) -> str:
    """``features`` or ``clips`` for a trained artifact; ``TypeError`` otherwise."""
    if isinstance(artifact, FittedBaseline):
        return "features"
    if isinstance(artifact, TrainedClipModel):
        return "clips"
    raise TypeError(f"not a trained model: {type(artifact).__name__}")


def fold_members(cells: Mapping[tuple[str, int], Any], models: Sequence[str]) -> list[Member]:
    """The trained fold models of ``models`` (skipped cells left out), in fold order."""
    members = []
    for model in models:
        folds = sorted(k for m, k in cells if m == model)
        for k in folds:
            artifact = cells[(model, k)]
            if isinstance(artifact, SkippedCell):
                continue
            try:
                kind = kind_of(artifact)
            except TypeError as err:
                raise TypeError(
                    f"{model}.fold_{k}.model: {err} (re-run the training pipeline)"
                ) from err
            members.append(Member(model, k, kind, artifact))
        if not any(m.model == model for m in members):
            raise ValueError(f"release.models: {model!r} has no trained fold model")
    return members


def corpus_fingerprint(cv_folds: pl.DataFrame) -> str:
    """SHA-256 over the sorted ``video_id,label`` lines of every video in ``cv_folds``."""
    rows = cv_folds.select("video_id", "label").unique().sort("video_id", "label")
    text = "".join(f"{v},{lab}\n" for v, lab in rows.iter_rows())
    return hashlib.sha256(text.encode()).hexdigest()


def _usable(cv_folds: pl.DataFrame) -> pl.DataFrame:
    return cv_folds.select("video_id", "target").unique("video_id").sort("video_id")


def refit_baseline(
    model: str,
    cv_folds: pl.DataFrame,
    model_input_table: pl.DataFrame,
    settings: Any,
    seed: int,
) -> FittedBaseline:
    """``model`` fitted on every ``cv_folds`` video that has a feature row."""
    ids = _usable(cv_folds).join(model_input_table.select("video_id"), on="video_id", how="semi")
    fitted = fit_baseline(model, model_input_table, ids["video_id"].to_list(), settings, seed=seed)
    log.info("%s refit on %d videos", model, ids.height)
    return fitted


def refit_epochs(fits: Sequence[FitReport | None], default: int) -> int:
    """Epochs for a refit: the median over folds of ``best_epoch + 1`` (Lightning counts epochs
    from 0), rounded up; ``default`` when no fold recorded one."""
    epochs = [f.best_epoch + 1 for f in fits if f is not None and f.best_epoch is not None]
    return int(np.ceil(np.median(epochs))) if epochs else default


def _last_weights(checkpoint: Path) -> dict[str, torch.Tensor]:
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]
    return {k.removeprefix("model."): v for k, v in state.items() if k.startswith("model.")}


def refit_clip_model(
    model: str,
    fold_models: Sequence[TrainedClipModel],
    cv_folds: pl.DataFrame,
    scaled_metadata: pl.DataFrame,
    training: Any,
    video_index: pl.DataFrame | None = None,
    augmented_metadata: pl.DataFrame | None = None,
) -> TrainedClipModel:
    """``model`` trained on every ``cv_folds`` video with a usable clip file (see module doc):
    the scaled video, or the stage-1 file (``video_index`` / ``augmented_metadata``) when the
    model's ``clip_source`` is ``native_crop``."""
    from aura.models import build_model, describe_pretrained
    from aura.training import ClipItem, fit_clip_model
    from aura.training.config import merge_trainer
    from aura.training.sources import clip_files

    settings = training.settings(model)
    base = training.trainer_for(model)
    n = refit_epochs([m.fit for m in fold_models], base.max_epochs)
    prefix = f"training.model_params.{model}.trainer"
    cfg = merge_trainer(base, {}, prefix, max_epochs=n, early_stopping_patience=n)
    if cfg.clip_source == "native_crop" and video_index is None:
        raise ValueError(f"{model} refit: clip_source native_crop needs the video_index")
    empty = pl.DataFrame(schema={"video_id": pl.String, "path": pl.String, "status": pl.String})
    files = clip_files(
        cfg.clip_source,
        scaled_metadata,
        empty if video_index is None else video_index,
        augmented_metadata,
    )
    rows = _usable(cv_folds).join(files, on="video_id", how="inner")
    items = [
        ClipItem(r["video_id"], r["path"], int(r["target"]), int(r["n_frames"]))
        for r in rows.iter_rows(named=True)
    ]
    if not items:
        raise ValueError(f"{model} refit: no cv_folds video has a usable {cfg.clip_source} file")
    net = build_model(model, settings)
    identity = [(it.video_id, str(it.path), Path(it.path).stat().st_size) for it in items]
    key = config_hash(
        {
            "model": model,
            "net": settings.net_kwargs(),
            "trainer": cfg.model_dump(),
            "clips": identity,
            "selection": None,  # runs that validated in-sample are not resumed
        }
    )
    checkpoints = Path(training.checkpoint_dir) / model / "refit" / key
    result = fit_clip_model(net, items, [], cfg, checkpoints)  # no selection: last epoch
    weights = _last_weights(checkpoints / "last.ckpt")
    log.info("%s refit on %d clips for %d epochs", model, len(items), n)
    fit = FitReport.of(
        result,
        pretrained_status=describe_pretrained(net),
        n_train_clips=len(items),
        n_val_clips=0,
        best_epoch=None,
        best_val_auc=None,
        stopped_early=False,
    )
    config = ClipModelConfig(
        model=model,
        fold=None,
        net=settings.net_kwargs(),
        trainer=cfg.model_dump(),
        pretrained=str(settings.pretrained),
        weights_path=settings.weights_path,
    )
    extra = {"validation": "none: last epoch of a fixed-length fit on every usable video"}
    return TrainedClipModel(config, weights, fit, extra)


def refit_members(
    cells: Mapping[tuple[str, int], Any],
    models: Sequence[str],
    cv_folds: pl.DataFrame,
    model_input_table: pl.DataFrame,
    scaled_metadata: pl.DataFrame,
    training: Any,
    video_index: pl.DataFrame | None = None,
    augmented_metadata: pl.DataFrame | None = None,
) -> list[Member]:
    """One refit member per model; its kind is that of its fold models."""
    members = []
    for model in models:
        folds = fold_members(cells, [model])
        kind = folds[0].kind
        if kind == "features":
            settings = training.settings(model)
            artifact: Any = refit_baseline(
                model, cv_folds, model_input_table, settings, training.seed
            )
        else:
            artifact = refit_clip_model(
                model,
                [m.artifact for m in folds],
                cv_folds,
                scaled_metadata,
                training,
                video_index,
                augmented_metadata,
            )
        members.append(Member(model, None, kind, artifact))
    return members


def _feature_names(members: Sequence[Member]) -> list[str]:
    names: list[str] = []
    for m in members:
        for n in getattr(m.artifact, "feature_names", []) if m.kind == "features" else []:
            if n not in names:
                names.append(n)
    return names


def assemble(
    members: Sequence[Member],
    *,
    strategy: str,
    cv_predictions: pl.DataFrame,
    cv_folds: pl.DataFrame,
    config: Any,
    calibration: str,
    threshold_rule: str,
    version: str | None = None,
) -> Detector:
    """The detector of ``members``, calibrated and thresholded on the out-of-fold predictions
    of their models; ``config`` is the resolved :class:`~aura.parameters.AuraConfig`."""
    from kedro.io.core import generate_timestamp

    models = list(dict.fromkeys(m.model for m in members))
    oof = ensemble_oof(cv_predictions, models)
    y = oof["target"].to_numpy()
    cal: Calibration = fit_calibration(oof["logit"].to_numpy(), y, calibration)
    p = cal.apply(oof["logit"].to_numpy())
    rule = parse_rule(threshold_rule)
    threshold = choose_threshold(y, p, rule)
    pooled = pooled_metrics(cv_predictions.filter(pl.col("model").is_in(models)))
    sampler = sampler_settings(
        members,
        config.features.to_params(),
        config.scaled_features.to_params(),
        config.scaling.to_params(),
        config.ingest.max_pixels,
    )
    manifest = DetectorManifest(
        version=version or generate_timestamp(),
        created_utc=datetime.now(UTC).isoformat(timespec="seconds"),
        strategy=strategy,
        models=models,
        config=config.to_params(),
        feature_names=_feature_names(members),
        sampler=sampler,
        calibration=cal.to_dict(),
        threshold=threshold,
        threshold_rule=str(rule),
        corpus_fingerprint=corpus_fingerprint(cv_folds),
        config_hash=config.hash(),
        git_commit=git_commit(Path(aura.__file__).parent),
        cv_metrics={m: pooled[m] for m in models if m in pooled},
        oof_metrics=metrics_at(y, p, threshold),
    )
    return Detector(manifest, members, cal)
