"""The feature stages on valid files whose headers miscount, and on frames above the cap."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from aura.executor import Task
from aura.features import FEATURES, compute_features, extract_features
from aura.pipelines.features.nodes import extract_stage2, features_one
from aura.video import VideoDecodeError, probe, run_indices, sample_frames

from ..conftest import Quirky

SERIAL = {"backend": "serial", "progress": False}


@pytest.mark.parametrize("name", ["drop", "off_by_one", "billion"])
def test_features_of_the_frames_really_there(name: str, quirky: dict[str, Quirky]) -> None:
    q = quirky[name]
    out = features_one(Task(name, str(q.path), {}), {"num_frames": 16})["features"]
    assert list(out) == list(FEATURES)
    assert out["codec_width"] == 160.0 and out["codec_duration_s"] < 10
    assert all(v is not None for k, v in out.items() if k.startswith(("noise_", "blur_", "temp_")))
    # The same as features of the 16 frames (runs of neighbours) placed by the real count.
    clip = sample_frames(q.path, 16, indices=run_indices(q.n, 16))
    assert clip.n_frames == q.n
    direct = extract_features(q.path, num_frames=16)
    info = probe(q.path, verify=False)
    again = compute_features(
        clip.frames, pts_s=clip.pts_s, info=info, index=None, indices=clip.indices
    )
    pixel = [k for k in FEATURES if not k.startswith("codec_")]
    assert [direct[k] for k in pixel] == pytest.approx([again[k] for k in pixel], nan_ok=True)


def test_frame_above_the_cap_is_a_failure_row(
    quirky: dict[str, Quirky], stage_index, tmp_path: Path
) -> None:
    """Defence in depth: ingest accepted the file, the stage's own cap still refuses it."""
    index = stage_index({"drop": quirky["drop"].path, "cut": quirky["off_by_one"].path})
    cache = str(tmp_path / "cache")
    table, (x, names), failed = extract_stage2(
        index, pl.DataFrame(), {"num_frames": 8}, SERIAL, cache, {"max_pixels": 160 * 96 - 1}
    )
    assert table.height == 0 and x.shape == (0, len(names))
    assert sorted(failed["video_id"]) == ["cut", "drop"]
    assert all("too_large" in e and "ingest.max_pixels" in e for e in failed["error"])
    table, (x, _), failed = extract_stage2(
        index, pl.DataFrame(), {"num_frames": 8}, SERIAL, cache, {"max_pixels": 160 * 96}
    )
    assert table.height == 2 and failed.height == 0 and np.isfinite(x).all()
    with pytest.raises(VideoDecodeError) as e:
        extract_features(quirky["drop"].path, max_frame_pixels=100)
    assert e.value.reason == "too_large"
