"""The ``video_metadata`` node on real stage outputs: every original and variant gets the
metadata of its own file, and ``model_input_table`` carries them."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest

from aura.corpus.videos import stage_inputs
from aura.features.metadata import META_COLUMNS, metadata_row, probe_facts
from aura.pipelines.training.metadata import video_metadata
from aura.pipelines.training.nodes import model_input
from aura.video import probe

EXECUTOR = {"backend": "serial", "progress": False}
SIZE = 112


def _run(outputs: dict, cache: Path, augmented: pl.DataFrame | None = None) -> pl.DataFrame:
    return video_metadata(
        outputs["video_index"],
        outputs["augmented_metadata"] if augmented is None else augmented,
        {"target_size": SIZE},
        EXECUTOR,
        str(cache),
        {},
    )


def test_every_video_gets_its_own_files_metadata(outputs: dict, tmp_path: Path) -> None:
    meta = _run(outputs, tmp_path / "cache")
    work, _ = stage_inputs(outputs["video_index"], outputs["augmented_metadata"])
    assert sorted(meta["video_id"]) == sorted(work["video_id"])
    assert meta.columns == ["video_id", *META_COLUMNS]
    variants = work.filter(pl.col("variant") > 0)
    assert variants.height >= 4
    for row in work.iter_rows(named=True):
        mine = meta.row(by_predicate=pl.col("video_id") == row["video_id"], named=True)
        want = metadata_row(probe_facts(probe(row["path"])), target_size=SIZE)
        for col in META_COLUMNS:
            assert mine[col] == pytest.approx(want[col], nan_ok=True), (row["video_id"], col)
        assert not any(math.isnan(mine[c]) for c in META_COLUMNS), row["video_id"]
    # variants are rendered at most 128 px wide: their own sizes, not their sources'
    for row in variants.iter_rows(named=True):
        mine = meta.row(by_predicate=pl.col("video_id") == row["video_id"], named=True)
        source = meta.row(by_predicate=pl.col("video_id") == row["source_video_id"], named=True)
        assert max(mine["meta_width"], mine["meta_height"]) <= 128
        assert mine["meta_codec_h264"] == 1.0 and mine["meta_has_audio"] == 0.0
        assert mine["meta_bit_rate"] != source["meta_bit_rate"]
    # the padding share is what stage 3 wrote for each file
    scaled = outputs["scaled_metadata"].filter(pl.col("status") == "ok")
    for row in scaled.iter_rows(named=True):
        mine = meta.row(by_predicate=pl.col("video_id") == row["video_id"], named=True)
        content = row["content_width"] * row["content_height"] / SIZE**2
        assert mine["meta_padding"] == pytest.approx(1 - content)


def test_model_input_table_carries_the_metadata(outputs: dict, tmp_path: Path) -> None:
    index, augmented = outputs["video_index"], outputs["augmented_metadata"]
    meta = _run(outputs, tmp_path / "cache")
    folds, _ = stage_inputs(index, augmented)  # model_input reads the fold videos' ids only
    table = model_input(outputs["features_stage2"], outputs["features_stage4"], folds, meta)
    assert set(table["video_id"]) == set(folds["video_id"])
    assert table.select(META_COLUMNS).null_count().sum_horizontal()[0] == 0
    assert table.drop(META_COLUMNS).equals(
        model_input(outputs["features_stage2"], outputs["features_stage4"], folds)
    )


def test_an_unreadable_variant_is_a_nan_row(outputs: dict, tmp_path: Path, caplog) -> None:
    augmented = outputs["augmented_metadata"]
    ok = augmented.filter(pl.col("status") == "ok")
    gone = ok["variant_id"][0]
    broken = augmented.with_columns(
        pl.when(pl.col("variant_id") == gone)
        .then(pl.lit(str(tmp_path / "gone.mp4")))
        .otherwise(pl.col("path"))
        .alias("path")
    )
    meta = _run(outputs, tmp_path / "cache", broken)
    row = meta.row(by_predicate=pl.col("video_id") == gone, named=True)
    assert all(math.isnan(row[c]) for c in META_COLUMNS)
    others = meta.filter(pl.col("video_id") != gone).select(META_COLUMNS)
    assert others.fill_nan(None).null_count().sum_horizontal()[0] == 0
    assert "could not be probed" in caplog.text
