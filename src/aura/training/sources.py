"""The files a clip model's clips are read from, by ``training.trainer.clip_source``.

- ``scaled``: the stage-3 videos (``scaled_metadata``, status ok).
- ``native_crop``: the stage-1 files at native resolution: originals from ``video_index``,
  augmented variants from ``augmented_metadata``, paired as every stage pairs them
  (:func:`aura.corpus.videos.stage_inputs`: ok rows, a variant only of an ok original).
"""

from __future__ import annotations

import polars as pl

from aura.corpus.videos import stage_inputs

CLIP_SOURCES = ("scaled", "native_crop")
#: The columns of :func:`clip_files`.
FILE_COLUMNS = ("video_id", "path", "n_frames")


def _counts(table: pl.DataFrame, id_column: str) -> pl.DataFrame:
    """``video_id, n_frames`` of the ok rows of ``table`` (none when it has no frame counts)."""
    if table.height == 0 or "n_frames" not in table.columns:
        return pl.DataFrame(schema={"video_id": pl.String, "n_frames": pl.Int64})
    return table.filter(pl.col("status") == "ok").select(
        pl.col(id_column).cast(pl.String).alias("video_id"), pl.col("n_frames").cast(pl.Int64)
    )


def clip_files(
    source: str,
    scaled_metadata: pl.DataFrame,
    video_index: pl.DataFrame,
    augmented_metadata: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``video_id, path, n_frames`` of every usable file clips of ``source`` are read from.

    A video without a usable file (failed stage, unknown frame count) has no row; the callers
    report those ids. ``augmented_metadata`` None: originals only (e.g. validation).
    """
    if source == "scaled":
        counts = _counts(scaled_metadata, "video_id")
        paths = scaled_metadata.filter(pl.col("status") == "ok").select("video_id", "path")
    elif source == "native_crop":
        work, _ = stage_inputs(video_index, augmented_metadata)
        paths = work.select("video_id", "path")
        counts = _counts(video_index, "video_id")
        if augmented_metadata is not None:
            counts = pl.concat([counts, _counts(augmented_metadata, "variant_id")])
    else:
        raise ValueError(f"clip source must be one of {CLIP_SOURCES}, got {source!r}")
    files = paths.with_columns(pl.col("path").cast(pl.String)).join(
        counts, on="video_id", how="inner"
    )
    return files.filter(pl.col("path").is_not_null() & (pl.col("n_frames") > 0)).select(
        FILE_COLUMNS
    )
