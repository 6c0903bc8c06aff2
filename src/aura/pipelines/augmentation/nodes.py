"""Augmentation nodes: draw each variant's ops from its seed and render it as an H.264 MP4."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from aura.augment import AugmentConfig, draw_variant, render_variant
from aura.augment.config import PREFIX
from aura.config import missing_key
from aura.corpus.ids import variant_id_expr
from aura.corpus.videos import stage_inputs
from aura.executor import Task
from aura.pipelines.config import IngestConfig
from aura.pipelines.stage import failures, run_video_stage
from aura.video.limits import MAX_PIXELS

METADATA_COLUMNS = [
    "variant_id",
    "source_video_id",
    "variant",
    "path",
    "ops",
    "seed",
    "status",
    "error",
]


def augment_one(task: Task, params: Mapping[str, Any]) -> dict[str, Any]:
    """Executor task: draw and render one variant of one source video."""
    params = dict(params)
    max_pixels = params.pop("max_pixels", MAX_PIXELS)  # ingest.max_pixels, not a stage key
    config = AugmentConfig.from_params(params)
    spec = draw_variant(str(task.args["source_video_id"]), int(task.args["variant"]), config)
    meta = render_variant(
        task.path,
        task.args["output"],
        spec,
        max_side=config.max_side,
        codec=config.codec,
        crf=config.crf,
        chunk_mb=config.chunk_mb,
        max_pixels=max_pixels,
    )
    return {
        "output": str(task.args["output"]),
        "ops": spec.ops_json(),
        "seed": spec.seed,
        "n_frames": meta.get("n_frames_out"),
        "width": meta.get("width"),
        "height": meta.get("height"),
    }


def augment_videos(
    video_index: pl.DataFrame,
    augmentation: AugmentConfig | Mapping[str, Any],
    executor: dict[str, Any],
    cache_dir: str,
    ingest: IngestConfig | Mapping[str, Any] | None = None,
) -> tuple[pl.DataFrame, dict[str, str]]:
    """Render variants 1..K of every usable original → ``augmented_metadata``, ``augmented_videos``.

    ``ingest.max_pixels`` caps the frame size: a larger frame is a failure row, never decoded.
    """
    config = AugmentConfig.from_params(augmentation)
    if config.output_dir is None:
        raise missing_key(PREFIX, "output_dir", "the folder where variants are written")
    originals, skipped = stage_inputs(video_index)
    work = (
        originals.select("video_id", "path")
        .join(
            pl.DataFrame({"variant": list(range(1, config.k + 1))}, schema={"variant": pl.Int64}),
            how="cross",
        )
        .with_columns(
            pl.col("video_id").alias("source_video_id"),
            variant_id_expr("video_id", "variant").alias("video_id"),
        )
    )
    table = run_video_stage(
        augment_one,
        work,
        stage="augmentation",
        params={**config.to_params(), "max_pixels": IngestConfig.from_params(ingest).max_pixels},
        executor=executor,
        cache_dir=cache_dir,
        output_dir=config.output_dir,
        arg_columns=("source_video_id", "variant"),
    )
    # Every variant failed or there was none: the columns fn would have filled are still due.
    missing = {"ops": pl.String, "seed": pl.Int64}
    table = table.with_columns(
        pl.lit(None, t).alias(c) for c, t in missing.items() if c not in table.columns
    )
    table = table.rename({"video_id": "variant_id", "path": "source_path", "output": "path"})
    skipped = failures(skipped, "augmentation").rename({"video_id": "source_video_id"})
    metadata = pl.concat([table, skipped], how="diagonal_relaxed")
    extra = [c for c in metadata.columns if c not in METADATA_COLUMNS]
    metadata = metadata.select(METADATA_COLUMNS + extra)
    videos = dict(
        metadata.filter(pl.col("status") == "ok").select("variant_id", "path").iter_rows()
    )
    return metadata, videos
