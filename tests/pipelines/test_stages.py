"""Stages 1–4 end to end on a tiny FVC-layout corpus with hostile rows, through Kedro's runner."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from aura.pipelines.scaling.nodes import check_autoencoder, scale_videos
from aura.video import probe


def test_augmentation_variants_and_failures(outputs, corpus_ids) -> None:
    meta = outputs["augmented_metadata"]
    ok = meta.filter(pl.col("status") == "ok")
    assert sorted(ok["variant_id"]) == sorted(f"{v}~v{k}" for v in corpus_ids for k in (1, 2))
    assert ok["seed"].n_unique() == 6 and ok["ops"].null_count() == 0
    bad = meta.filter(pl.col("status") != "ok")
    assert bad["source_video_id"].to_list() == ["DDDDDDDDDDD"]
    assert "not_video" in bad["error"][0]
    assert set(outputs["augmented_videos"]) == set(ok["variant_id"])
    for path in outputs["augmented_videos"].values():
        info = probe(path)
        assert max(info.width, info.height) <= 128


def test_features_tables(outputs) -> None:
    s2, s4 = outputs["features_stage2"], outputs["features_stage4"]
    assert s2.height == s4.height == 9  # 3 originals + 6 variants
    x2, names2 = outputs["features_stage2_matrix"]
    x4, names4 = outputs["features_stage4_matrix"]
    assert (
        x2.shape == (9, len(names2))
        and len(names2) >= 40
        and np.isfinite(x2).all()
        and np.isfinite(x4).all()
    )
    assert (
        all(n.startswith("s4_") for n in names4)
        and [n.removeprefix("s4_") for n in names4] == names2
    )
    joined = s2.join(s4.select("video_id", *names4), on="video_id", how="inner")
    assert joined.height == 9
    assert set(s2.filter(pl.col("variant") == 0)["label"]) == {"fake", "real"}


def test_feature_failures_are_recorded(outputs) -> None:
    for name in ("features_stage2_failures", "features_stage4_failures"):
        failed = outputs[name]
        assert failed["video_id"].to_list() == ["DDDDDDDDDDD"], name
        assert failed["status"].to_list() == ["skipped"] and "not_video" in failed["error"][0]


def test_scaled_videos_keep_aspect(outputs) -> None:
    meta = outputs["scaled_metadata"].filter(pl.col("status") == "ok")
    assert meta.height == 9
    for row in meta.iter_rows(named=True):
        info = probe(row["path"])
        assert (info.width, info.height) == (112, 112) and info.n_frames == row["n_frames"]
        assert max(row["content_width"], row["content_height"]) == 112
        src_aspect = row["source_width"] / row["source_height"]
        if row["content_width"] == 112:
            assert abs(row["content_height"] - 112 / src_aspect) <= 1
        else:
            assert abs(row["content_width"] - 112 * src_aspect) <= 1
        assert row["pad_top"] + row["pad_bottom"] + row["content_height"] == 112
    skipped = outputs["scaled_metadata"].filter(pl.col("status") == "skipped")
    assert skipped["video_id"].to_list() == ["DDDDDDDDDDD"]


def test_rerun_is_cached_and_identical(
    corpus: Path, outputs, run_stages, tmp_path: Path, caplog
) -> None:
    work = Path(next(iter(outputs["scaled_videos"].values()))).parents[1]
    caplog.set_level("INFO", logger="aura.executor")
    again = run_stages(corpus, work)
    summaries = [r.getMessage() for r in caplog.records if r.getMessage().startswith("stage=")]
    assert len(summaries) == 4 and all("computed=0" in s for s in summaries)
    for name in ("features_stage2", "features_stage4", "scaled_metadata"):
        assert again[name].equals(outputs[name])


def test_processes_backend_matches_serial(
    corpus: Path, outputs, run_stages, tmp_path: Path
) -> None:
    other = run_stages(corpus, tmp_path, backend="processes")
    assert other["features_stage2"].drop("path").equals(outputs["features_stage2"].drop("path"))
    np.testing.assert_array_equal(
        other["features_stage4_matrix"][0], outputs["features_stage4_matrix"][0]
    )


def test_autoencoder_without_weights_fails_fast(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "vae")):
        check_autoencoder({"autoencoder": {"weights_path": str(tmp_path / "vae")}})


def test_autoencoder_scaling_node(outputs, tmp_path: Path) -> None:
    diffusers = pytest.importorskip("diffusers")
    import torch

    torch.manual_seed(0)
    diffusers.AutoencoderKL(
        block_out_channels=(8, 16),
        down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2,
        latent_channels=4,
        norm_num_groups=8,
        layers_per_block=1,
    ).save_pretrained(tmp_path / "vae")
    scaling = {
        "method": "autoencoder",
        "target_size": 32,
        "crf": 18,
        "output_dir": str(tmp_path / "scaled"),
        "autoencoder": {"weights_path": str(tmp_path / "vae")},
    }
    table, videos = scale_videos(
        outputs["video_index"],
        outputs["augmented_metadata"],
        scaling,
        {"backend": "serial", "progress": False},
        str(tmp_path / "cache"),
    )
    ok = table.filter(pl.col("status") == "ok")
    assert ok.height == 9 and set(videos) == set(ok["video_id"])
    letterbox = outputs["scaled_metadata"].filter(pl.col("status") == "ok")
    for row in ok.iter_rows(named=True):
        info = probe(row["path"])
        assert (info.width, info.height) == (32, 32) and info.n_frames == row["n_frames"]
        assert row["pad_top"] + row["pad_bottom"] + row["content_height"] == 32
    assert sorted(ok["n_frames"]) == sorted(letterbox["n_frames"])
    assert table.filter(pl.col("status") == "skipped")["video_id"].to_list() == ["DDDDDDDDDDD"]


def test_a_corpus_with_no_usable_video(tmp_path: Path) -> None:
    """Every stage reports the unusable inputs instead of crashing on an empty work list."""
    from aura.pipelines.augmentation.nodes import augment_videos
    from aura.pipelines.features.nodes import extract_stage2, extract_stage4
    from aura.pipelines.scaling.nodes import scale_videos

    index = pl.DataFrame(
        {
            "video_id": ["a"],
            "path": ["/nope.mp4"],
            "status": ["missing_file"],
            "error": ["no file"],
            "label": ["real"],
            "target": [0],
            "cascade_id": ["c"],
            "group_id": ["c"],
        }
    )
    executor, cache = {"backend": "serial", "progress": False}, str(tmp_path / "cache")
    augmented, variants = augment_videos(
        index, {"output_dir": str(tmp_path / "a")}, executor, cache
    )
    assert variants == {} and augmented["status"].to_list() == ["skipped"]
    scaled, videos = scale_videos(
        index, augmented, {"output_dir": str(tmp_path / "s")}, executor, cache
    )
    assert videos == {} and scaled["status"].to_list() == ["skipped"]
    for table, (matrix, names), failed in (
        extract_stage2(index, augmented, {"num_frames": 4}, executor, cache),
        extract_stage4(scaled, {"num_frames": 4}, executor, cache),
    ):
        assert table.height == 0 and matrix.shape == (0, len(names)) and len(names) > 40
        assert failed["video_id"].to_list() == ["a"] and "missing_file" in failed["error"][0]
