"""The set of videos a per-video stage works on: usable originals plus augmented variants."""

from __future__ import annotations

import polars as pl

from aura.corpus.ids import check_source_ids

#: Columns every stage carries from the index so outputs can be joined and grouped.
ID_COLUMNS = [
    "video_id",
    "source_video_id",
    "variant",
    "label",
    "target",
    "cascade_id",
    "group_id",
    "path",
]


def stage_inputs(
    video_index: pl.DataFrame, augmented: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split into (work, skipped).

    ``work``: originals with status ok (variant 0, ``source_video_id`` = ``video_id``) and the ok
    rows of ``augmented`` (label and groups inherited from the source). ``skipped``: index rows
    that cannot be processed, with their status and reason, so stages report them instead of
    silently dropping them.
    """
    index = video_index.with_columns(
        pl.col("video_id").alias("source_video_id"), pl.lit(0, pl.Int64).alias("variant")
    )
    ok = index.filter(pl.col("status") == "ok")
    check_source_ids(ok["video_id"], "video_index")
    skipped = index.filter((pl.col("status") != "ok") & (pl.col("status") != "duplicate")).select(
        "video_id", "status", "error"
    )
    work = ok.select(ID_COLUMNS)
    if augmented is not None and augmented.height:
        source = ok.select("video_id", "label", "target", "cascade_id", "group_id").rename(
            {"video_id": "source_video_id"}
        )
        variants = (
            augmented.filter(pl.col("status") == "ok")
            .select(
                pl.col("variant_id").alias("video_id"),
                "source_video_id",
                pl.col("variant").cast(pl.Int64),
                "path",
            )
            .join(source, on="source_video_id", how="inner")
            .select(ID_COLUMNS)
        )
        work = pl.concat([work, variants])
        # Variants that failed to render; "skipped" rows are sources the index already reports.
        bad = augmented.filter(~pl.col("status").is_in(["ok", "skipped"])).select(
            pl.col("variant_id").alias("video_id"), "status", "error"
        )
        skipped = pl.concat([skipped, bad])
    return work, skipped
