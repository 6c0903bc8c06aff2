"""The ``video_metadata`` node: the ``meta_*`` columns of every original and variant.

An original's probe facts are its ``video_index`` row (the verified probe of ingest); a
variant's are a probe of its own rendered file (a per-video executor task, cached like every
stage). Both go through :func:`aura.features.metadata.metadata_row`, as inference does.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import polars as pl

from aura.corpus.videos import stage_inputs
from aura.executor import Task
from aura.features.metadata import PROBE_KEYS, metadata_table, probe_facts
from aura.pipelines.config import IngestConfig, ScalingConfig
from aura.pipelines.stage import run_video_stage
from aura.video.limits import MAX_PIXELS
from aura.video.probe import probe

log = logging.getLogger(__name__)


def probe_one(task: Task, params: Mapping[str, Any]) -> dict[str, Any]:
    """Executor task: the probe facts (:data:`PROBE_KEYS`) of one file."""
    info = probe(task.path, verify=False, max_pixels=params.get("max_pixels", MAX_PIXELS))
    return {"facts": probe_facts(info)}


def video_metadata(
    video_index: pl.DataFrame,
    augmented_metadata: pl.DataFrame | None,
    scaling: ScalingConfig | Mapping[str, Any],
    executor: dict[str, Any],
    cache_dir: str,
    ingest: IngestConfig | Mapping[str, Any] | None = None,
) -> pl.DataFrame:
    """``video_id`` + :data:`aura.features.metadata.META_COLUMNS` of every usable original and
    variant; NaN where a fact is unknown (a variant whose file cannot be probed is logged)."""
    target_size = ScalingConfig.from_params(scaling).target_size
    work, _ = stage_inputs(video_index, augmented_metadata)
    originals = work.filter(pl.col("variant") == 0).select("video_id")
    if absent := [k for k in PROBE_KEYS if k not in video_index.columns]:
        log.warning("video_metadata: video_index has no %s columns; those facts are NaN", absent)
    index = video_index.filter(pl.col("status") == "ok").select(
        "video_id", *(k for k in PROBE_KEYS if k in video_index.columns)
    )
    facts: dict[str, Mapping[str, Any] | None] = {
        row.pop("video_id"): row
        for row in originals.join(index, on="video_id", how="left").iter_rows(named=True)
    }
    variants = work.filter(pl.col("variant") > 0)
    if variants.height:
        probed = run_video_stage(
            probe_one,
            variants,
            stage="metadata",
            params={
                "keys": list(PROBE_KEYS),
                "max_pixels": IngestConfig.from_params(ingest).max_pixels,
            },
            executor=executor,
            cache_dir=cache_dir,
        )
        failed = probed.filter(pl.col("status") != "ok")
        if failed.height:
            log.warning(
                "video_metadata: %d of %d variants could not be probed; their metadata is NaN",
                failed.height,
                probed.height,
            )
        ok = probed.filter(pl.col("status") == "ok")
        for vid, row in zip(ok["video_id"], ok["facts"] if ok.height else [], strict=True):
            facts[vid] = row
        facts.update(dict.fromkeys(failed["video_id"].to_list()))
    ids = list(facts)
    return metadata_table(ids, [facts[v] for v in ids], target_size=target_size)
