"""The ``meta_*`` columns: what the probe says about a real file, the stage-3 padding share, a
fixed codec vocabulary, and never a forensic feature column."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from aura.features import FEATURES
from aura.features.metadata import (
    META_CODECS,
    META_COLUMNS,
    metadata_row,
    metadata_table,
    probe_facts,
)
from aura.features.table import feature_columns, to_table
from aura.video import probe, write_video
from aura.video.scale import scale_video
from tests.conftest import texture
from tests.video.conftest import write_with_audio


def _clip(path: Path, w: int, h: int, n: int, **kwargs: object) -> Path:
    return write_video(path, [texture(i, w, h) for i in range(n)], **kwargs)


@pytest.mark.parametrize(
    ("w", "h", "fps", "codec", "rotation"),
    [(160, 96, 30, "h264", 0), (96, 128, 25, "mpeg4", 0), (160, 96, 24, "h264", 90)],
)
def test_columns_match_the_probe_and_stage_3(
    tmp_path: Path, w: int, h: int, fps: int, codec: str, rotation: int
) -> None:
    src = _clip(tmp_path / "v.mp4", w, h, 20, fps=Fraction(fps), codec=codec, rotation=rotation)
    info = probe(src)
    row = metadata_row(probe_facts(info), target_size=64)
    assert list(row) == list(META_COLUMNS)
    disp_w, disp_h = (h, w) if rotation in (90, 270) else (w, h)
    assert (row["meta_width"], row["meta_height"]) == (disp_w, disp_h)
    assert row["meta_aspect"] == pytest.approx(disp_w / disp_h)
    assert row["meta_fps"] == pytest.approx(info.fps) and info.fps == pytest.approx(fps)
    assert row["meta_duration_s"] == pytest.approx(info.duration_s) and info.duration_s > 0
    rate = info.bit_rate or info.size_bytes * 8 / info.duration_s
    assert row["meta_bit_rate"] == pytest.approx(rate)
    assert row["meta_has_audio"] == 0.0
    assert {c: row[f"meta_codec_{c}"] for c in META_CODECS} == {
        c: float(c == codec) for c in META_CODECS
    }
    # the padding share is the letterbox stage 3 really writes for this file
    geo = scale_video(src, tmp_path / "s.mp4", size=64)
    content = geo["content_width"] * geo["content_height"]
    assert row["meta_padding"] == pytest.approx(1 - content / 64**2)
    assert row["meta_padding"] > 0  # none of these is square


def test_audio_stream_is_seen(tmp_path: Path) -> None:
    info = probe(write_with_audio(tmp_path / "av.mp4", 30))
    assert metadata_row(probe_facts(info), target_size=112)["meta_has_audio"] == 1.0


def test_unknown_facts_are_nan_and_unseen_codecs_fall_into_other() -> None:
    row = metadata_row({"codec": "prores", "width": 100, "height": 100}, target_size=112)
    assert row["meta_codec_other"] == 1.0
    assert sum(row[f"meta_codec_{c}"] for c in META_CODECS) == 1.0
    assert row["meta_padding"] == 0.0  # square
    assert math.isnan(row["meta_fps"]) and math.isnan(row["meta_has_audio"])
    assert math.isnan(row["meta_bit_rate"])  # no rate, no size to derive one from
    assert all(math.isnan(v) for v in metadata_row(None, target_size=112).values())
    table = metadata_table(["a", "b"], [None, {"codec": "h264"}], target_size=112)
    assert table.columns == ["video_id", *META_COLUMNS]
    assert all(table.schema[c] == pl.Float64 for c in META_COLUMNS)
    assert table["meta_codec_h264"].to_list()[1] == 1.0


def test_meta_columns_are_never_feature_columns() -> None:
    """``meta_codec_h264`` ends like the forensic feature ``codec_h264``: still not a feature."""
    rows = [dict.fromkeys(FEATURES, 1.0)]
    table = to_table(rows, {"video_id": ["v"]})
    meta = metadata_table(["v"], [{"codec": "h264", "width": 4, "height": 2}], target_size=16)
    joined = table.join(meta, on="video_id")
    assert "codec_h264" in FEATURES and "meta_codec_h264" in joined.columns
    assert feature_columns(joined) == feature_columns(table) == list(FEATURES)
    assert not any(c.startswith("meta_") for c in feature_columns(joined, flags=True))
    assert np.isfinite(joined.select(META_COLUMNS[:3]).to_numpy()).all()
