"""Feature nodes (stages 2 and 4): one executor task per video, then one imputed table."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from aura.corpus.videos import ID_COLUMNS, stage_inputs
from aura.executor import Task
from aura.features import FEATURES, to_matrix, to_table, video_features
from aura.features.extract import FEATURES_VERSION
from aura.pipelines.config import FeaturesConfig, IngestConfig, ScaledFeaturesConfig
from aura.pipelines.stage import failures, run_video_stage
from aura.video.limits import MAX_PIXELS
from aura.video.scale import PAD_KEYS

log = logging.getLogger(__name__)


def features_one(task: Task, params: Mapping[str, Any]) -> dict[str, Any]:
    """Executor task: every feature of one video (NaN where undefined, imputed later)."""
    values = video_features(
        task.path,
        num_frames=int(params["num_frames"]),
        crop=task.args.get("crop"),
        max_pixels=params.get("max_pixels", MAX_PIXELS),
    )
    return {"features": {k: (None if np.isnan(v) else v) for k, v in values.items()}}


def _feature_table(
    work: pl.DataFrame,
    skipped: pl.DataFrame,
    config: FeaturesConfig,
    *,
    stage: str,
    executor: dict[str, Any],
    cache_dir: str,
    max_pixels: int | None = MAX_PIXELS,
) -> tuple[pl.DataFrame, tuple[np.ndarray, list[str]], pl.DataFrame]:
    """Features of ``work`` → (table, matrix, failures); failures hold ``skipped`` inputs too.

    A ``crop`` column in ``work`` (stage 4: the letterbox padding) goes to each task.
    """
    table = run_video_stage(
        features_one,
        work,
        stage=stage,
        params={
            "num_frames": config.num_frames,
            "max_pixels": max_pixels,
            "version": FEATURES_VERSION,
        },
        executor=executor,
        cache_dir=cache_dir,
        arg_columns=("crop",) if "crop" in work.columns else (),
    )
    failed = table.filter(pl.col("status") != "ok")
    for row in failed.head(20).iter_rows(named=True):
        log.warning("%s: %s failed: %s", stage, row["video_id"], row["error"])
    ok = table.filter(pl.col("status") == "ok")
    rows = (
        [{k: (np.nan if v is None else v) for k, v in r.items()} for r in ok["features"].to_list()]
        if ok.height
        else []
    )
    ids = {c: ok[c].to_list() for c in ID_COLUMNS}
    features = to_table(rows, ids, prefix=config.prefix)
    log.info(
        "%s: %d videos, %d features, %d failed",
        stage,
        features.height,
        len(FEATURES),
        failed.height,
    )
    failures = pl.concat(
        [
            skipped.select("video_id", "status", "error"),
            failed.select("video_id", "status", "error"),
        ],
        how="vertical_relaxed",
    )
    return features, to_matrix(features), failures


def extract_stage2(
    video_index: pl.DataFrame,
    augmented_metadata: pl.DataFrame,
    features: FeaturesConfig | Mapping[str, Any],
    executor: dict[str, Any],
    cache_dir: str,
    ingest: IngestConfig | Mapping[str, Any] | None = None,
) -> tuple[pl.DataFrame, tuple[np.ndarray, list[str]], pl.DataFrame]:
    """Stage 2 → ``features_stage2`` (ids + features + imputation flags), its matrix, failures.

    ``ingest.max_pixels`` caps the frame size: a larger frame is a failure row, never decoded.
    """
    work, skipped = stage_inputs(video_index, augmented_metadata)
    return _feature_table(
        work,
        failures(skipped, "features"),
        FeaturesConfig.from_params(features),
        stage="features",
        executor=executor,
        cache_dir=cache_dir,
        max_pixels=IngestConfig.from_params(ingest).max_pixels,
    )


def extract_stage4(
    scaled_metadata: pl.DataFrame,
    scaled_features: ScaledFeaturesConfig | Mapping[str, Any],
    executor: dict[str, Any],
    cache_dir: str,
    ingest: IngestConfig | Mapping[str, Any] | None = None,
) -> tuple[pl.DataFrame, tuple[np.ndarray, list[str]], pl.DataFrame]:
    """Stage 4 → ``features_stage4``: the same features on scaled videos, prefixed; + failures."""
    # The letterbox bars are cut off again, so stage-4 features describe only the picture.
    pads = list(PAD_KEYS)
    ok = scaled_metadata.filter(pl.col("status") == "ok")
    crop = [pl.concat_list(pads).alias("crop")] if set(pads) <= set(ok.columns) else []
    work = ok.select(*ID_COLUMNS, *crop)
    return _feature_table(
        work,
        scaled_metadata.filter(pl.col("status") != "ok"),
        ScaledFeaturesConfig.from_params(scaled_features),
        stage="scaled_features",
        executor=executor,
        cache_dir=cache_dir,
        max_pixels=IngestConfig.from_params(ingest).max_pixels,
    )
