"""Tests for aura.evaluation.slices: buckets, scored slices, and slices listed but not scored."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from aura.evaluation import auc_with_ci, binary_metrics, slice_table
from aura.evaluation.slices import slice_attributes, slice_columns


def test_buckets_use_the_shorter_side_and_half_open_durations() -> None:
    cases = [  # width, height, duration_s, codec -> resolution, duration
        (320, 240, 4.99, "h264", "<=240", "<5 s"),
        (241, 1000, 5.0, "vp9", "<=360", "5-15 s"),
        (1280, 720, 15.0, "h264", "<=720", "15-60 s"),
        (720, 1280, 59.9, "av1", "<=720", "15-60 s"),  # portrait: same bucket
        (1920, 1080, 60.0, "hevc", ">720", ">=60 s"),
        (854, 480, None, None, "<=480", "unknown"),
        (None, None, 1.0, "h264", "unknown", "<5 s"),
    ]
    index = pl.DataFrame(
        {
            "video_id": [f"v{i}" for i in range(len(cases))],
            "width": [c[0] for c in cases],
            "height": [c[1] for c in cases],
            "duration_s": [c[2] for c in cases],
            "codec": [c[3] for c in cases],
        },
        schema_overrides={"width": pl.Int64, "height": pl.Int64, "duration_s": pl.Float64},
    )
    preds = pl.DataFrame({"video_id": index["video_id"], "platform": ["yt"] * 6 + [None]})
    got = slice_attributes(preds, index).sort("video_id")
    assert got["resolution"].to_list() == [c[4] for c in cases]
    assert got["duration"].to_list() == [c[5] for c in cases]
    assert got["codec"].to_list() == ["h264", "vp9", "h264", "av1", "hevc", "unknown", "h264"]
    assert got["platform"].to_list() == ["yt"] * 6 + ["unknown"]


def corpus(seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Two models on 80 videos (2 per group): youtube holds both classes, vimeo only fakes,
    tiktok 4 videos; resolutions and codecs vary."""
    rng = np.random.default_rng(seed)
    n = 80
    platform = ["youtube"] * 60 + ["vimeo"] * 16 + ["tiktok"] * 4
    y = np.r_[np.arange(60) // 2 % 2, np.ones(16, int), [0, 1, 0, 1]]
    index = pl.DataFrame(
        {
            "video_id": [f"v{i}" for i in range(n)],
            "width": rng.choice([426, 640, 1280], n),
            "height": rng.choice([240, 360, 720], n),
            "duration_s": rng.uniform(1, 90, n),
            "codec": ["h264"] * 70 + ["vp9"] * 10,
        }
    )
    frames = []
    for model, strength in (("a", 2.0), ("b", 0.0)):
        z = strength * y + rng.normal(size=n)
        frames.append(
            pl.DataFrame(
                {
                    "model": model,
                    "fold": np.arange(n) % 3,
                    "video_id": index["video_id"],
                    "group_id": [f"g{i // 2}" for i in range(n)],
                    "platform": platform,
                    "target": y,
                    "score": 1 / (1 + np.exp(-z)),
                }
            )
        )
    return pl.concat(frames), index


def test_small_and_one_class_slices_are_listed_not_scored() -> None:
    preds, index = corpus()
    table = slice_table(preds, index, min_videos=10, n_boot=200)
    assert table.columns == slice_columns()
    platform = table.filter((pl.col("model") == "a") & (pl.col("slice") == "platform"))
    notes = dict(zip(platform["value"], platform["note"], strict=True))
    assert notes == {
        "tiktok": "not scored: 4 videos, fewer than 10",
        "vimeo": "not scored: one class only (all 16 fake)",
        "youtube": None,
    }
    listed = table.filter(pl.col("note").is_not_null())
    assert (
        listed.select("roc_auc", "roc_auc_lo", "pr_auc", "f1").null_count().row(0)
        == (listed.height,) * 4
    )
    tiktok = platform.filter(pl.col("value") == "tiktok").row(0, named=True)
    assert (tiktok["n"], tiktok["n_real"], tiktok["n_fake"], tiktok["n_groups"]) == (4, 2, 2, 2)
    # every dimension appears for both models, buckets in their natural order
    assert table.filter(pl.col("model") == "b")["slice"].unique(maintain_order=True).to_list() == [
        "platform",
        "resolution",
        "duration",
        "codec",
    ]
    durations = table.filter((pl.col("model") == "a") & (pl.col("slice") == "duration"))
    order = ["<5 s", "5-15 s", "15-60 s", ">=60 s"]
    assert durations["value"].to_list() == [d for d in order if d in durations["value"]]
    # the threshold of "too few" is the parameter
    lenient = slice_table(preds, index, min_videos=4, n_boot=0)
    row = lenient.filter((pl.col("model") == "a") & (pl.col("value") == "tiktok")).row(
        0, named=True
    )
    assert row["note"] is None and row["roc_auc"] is not None


def test_scored_slices_match_metrics_of_their_rows() -> None:
    preds, index = corpus()
    table = slice_table(preds, index, threshold=0.3, n_boot=300, seed=2)
    joined = preds.join(index, on="video_id")
    youtube = preds.filter((pl.col("model") == "a") & (pl.col("platform") == "youtube"))
    row = table.filter(
        (pl.col("model") == "a") & (pl.col("slice") == "platform") & (pl.col("value") == "youtube")
    ).row(0, named=True)
    expected = binary_metrics(youtube["target"], youtube["score"], threshold=0.3)
    for m in ("roc_auc", "pr_auc", "eer", "accuracy", "f1"):
        assert row[m] == pytest.approx(expected[m])
    ci = auc_with_ci(youtube["target"], youtube["score"], youtube["group_id"], n_boot=300, seed=2)
    assert (row["roc_auc"], row["roc_auc_lo"], row["roc_auc_hi"]) == pytest.approx(ci)
    h264 = table.filter((pl.col("model") == "b") & (pl.col("value") == "h264")).row(0, named=True)
    assert h264["n"] == joined.filter((pl.col("model") == "b") & (pl.col("codec") == "h264")).height
    scored = table.filter(pl.col("note").is_null())
    assert (scored["roc_auc_lo"] <= scored["roc_auc"]).all()
    assert (scored["roc_auc"] <= scored["roc_auc_hi"]).all()
