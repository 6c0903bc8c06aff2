"""Stage 5 nodes for the deep video models: one grid cell's train → predict on its clips: the
scaled videos, or native-resolution crops of the stage-1 files (``clip_source: native_crop``).

Heavy lifting lives in :mod:`aura.models` (architectures, weights) and :mod:`aura.training`
(Lightning loop); these nodes pick the fold's clips and return a
:class:`~aura.models.TrainedClipModel` (or a :class:`~aura.models.SkippedCell`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl
import torch

from aura.models import (
    LOOP_KEYS,
    ClipModelConfig,
    FitReport,
    ModelSettings,
    SkippedCell,
    TrainedClipModel,
    build_model,
    describe_pretrained,
)
from aura.models.registry import CONFIG_PREFIX, model_settings
from aura.pipelines.training.nodes import (
    inner_rows,
    missing_fold,
    prediction_table,
    validation_rows,
)
from aura.tracking import config_hash
from aura.training import ClipItem, TrainConfig, fit_clip_model, predict_clips
from aura.training.calibration import selection_calibration
from aura.training.config import merge_trainer
from aura.training.sources import clip_files

log = logging.getLogger(__name__)


def _items(rows: pl.DataFrame, files: pl.DataFrame) -> tuple[list[ClipItem], list[str]]:
    """Clip items for ``rows`` from their clip files (:func:`~aura.training.sources.clip_files`);
    ids without a usable file."""
    clips = files.select(
        "video_id", pl.col("path").alias("clip_path"), pl.col("n_frames").alias("clip_n_frames")
    )
    joined = rows.join(clips, on="video_id", how="left")
    missing = joined.filter(pl.col("clip_path").is_null())["video_id"].to_list()
    items = [
        ClipItem(r["video_id"], r["clip_path"], int(r["target"]), int(r["clip_n_frames"]))
        for r in joined.filter(pl.col("clip_path").is_not_null()).iter_rows(named=True)
    ]
    return items, missing


def _identity(item: ClipItem) -> tuple[str, str, int, int]:
    """What a checkpoint is valid for: the clip's file, its size and modification time."""
    stat = Path(item.path).stat()
    return (item.video_id, str(item.path), stat.st_size, stat.st_mtime_ns)


def train_clip_cell(
    folds: pl.DataFrame,
    scaled_metadata: pl.DataFrame,
    video_index: pl.DataFrame,
    augmented_metadata: pl.DataFrame,
    model_params: ModelSettings | Mapping[str, Any],
    trainer: TrainConfig | Mapping[str, Any],
    seed: int,
    checkpoint_dir: str,
    *,
    model: str,
    fold: int,
) -> TrainedClipModel | SkippedCell:
    """Train ``model`` on fold ``fold``'s ``inner_role`` ``fit`` clips (originals + variants),
    early-stop and pick the epoch on its ``select`` originals (none: ``max_epochs``, last
    weights), and fit its calibration map there (``trainer.calibration``); returns the
    weights, the resolved config and what the fit did.

    The fold's validation videos never reach the fit: :func:`predict_clip_cell` only scores them.
    Clips come from the files the resolved trainer's ``clip_source`` names.
    """
    if reason := missing_fold(folds, model, fold):
        return SkippedCell(model, fold, reason)
    prefix = f"{CONFIG_PREFIX}.{model}"
    settings = model_settings(model).from_params(model_params, prefix)
    assert isinstance(settings, ModelSettings), f"{model} is not a clip model"
    net_cfg = settings.net_kwargs()
    loop = {k: getattr(settings, k) for k in LOOP_KEYS}
    base = TrainConfig.from_params(trainer)
    cfg = merge_trainer(base, settings.trainer, f"{prefix}.trainer", seed=seed + fold)
    files = clip_files(cfg.clip_source, scaled_metadata, video_index, augmented_metadata)
    train, missing_train = _items(inner_rows(folds, fold, "fit"), files)
    select, missing_select = _items(inner_rows(folds, fold, "select"), files)
    if missing_train or missing_select:
        log.warning(
            "%s.fold_%d: %d videos have no usable %s clip file and are left out: %s",
            model,
            fold,
            cfg.clip_source,
            len(missing_train) + len(missing_select),
            (missing_train + missing_select)[:5],
        )
    if missing_select and not select:
        log.warning("%s.fold_%d: no selection clip is left: last epoch kept", model, fold)
    # seeded init: a cell's weights must not depend on what ran before it in the process
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        net = build_model(model, settings)
    run_key = config_hash(
        {
            "model": model,
            "net": net_cfg,
            "loop": loop,
            # calibration comes after the fit: changing it reuses the checkpoint
            "trainer": cfg.model_dump(exclude={"calibration", "calibration_c"}),
            "clips": [_identity(i) for i in train],
            "select": [_identity(i) for i in select],
        }
    )
    result = fit_clip_model(
        net, train, select, cfg, Path(checkpoint_dir) / model / f"fold_{fold}" / run_key
    )
    fit = FitReport.of(
        result,
        pretrained_status=describe_pretrained(net),
        n_train_clips=len(train),
        n_val_clips=len(select),
    )
    log.info(
        "%s.fold_%d: resumed=%s epochs_run=%d best_epoch=%s best_val_auc=%s batch_size=%d "
        "precision=%s",
        model,
        fold,
        "yes" if result.resumed_from else "no",
        result.epochs_run,
        result.best_epoch,
        None if result.best_val_auc is None else round(result.best_val_auc, 3),
        result.batch_size,
        result.precision,
    )
    config = ClipModelConfig(
        model=model,
        fold=fold,
        net=net_cfg,
        trainer=cfg.model_dump(mode="json"),  # the resolved loop, per-model overrides applied
        pretrained=str(settings.pretrained),
        weights_path=settings.weights_path,
        calibration=selection_calibration(net, select, cfg, where=f"{model}.fold_{fold}"),
    )
    return TrainedClipModel(config, result.state_dict, fit)


def predict_clip_cell(
    trained: TrainedClipModel | SkippedCell,
    folds: pl.DataFrame,
    scaled_metadata: pl.DataFrame,
    video_index: pl.DataFrame,
    *,
    model: str,
    fold: int,
) -> pl.DataFrame:
    """Probability of fake for the fold's validation originals (fixed uniform frames); the only
    place they are used: the fit never saw them."""
    val = validation_rows(folds, fold, video_index)
    source = "scaled" if isinstance(trained, SkippedCell) else trained.config.clip_source
    items, _ = _items(val, clip_files(source, scaled_metadata, video_index))
    if isinstance(trained, SkippedCell) or not items:
        scores, val = [], val.head(0)
    else:
        config = trained.config
        scores = predict_clips(
            trained.network(),
            items,
            config.num_frames,
            batch_size=int(config.trainer["batch_size"]),
            size=config.clip_size,
            crop=config.crop_size,
        )
        order = pl.DataFrame({"video_id": [i.video_id for i in items]})
        val = order.join(val, on="video_id", how="left")
    return prediction_table(val, scores, model=model, fold=fold)
