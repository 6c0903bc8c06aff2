"""Augmentation on valid files whose headers miscount (10^9 included) and above the cap."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from aura.augment import AugmentConfig, OpSpec, VariantSpec, render_variant
from aura.executor import Task
from aura.pipelines.augmentation.nodes import augment_one, augment_videos
from aura.video import probe

from ..conftest import Quirky

SERIAL = {"backend": "serial", "progress": False}
#: Plans that read forwards (streamed) and backwards (chunks through the sampler).
PLANS = {
    "dup": OpSpec("frame_dup", "temporal", {"fraction": 0.2, "max_repeats": 2, "seed": 3}),
    "reverse": OpSpec("reverse", "temporal", {}),
}


@pytest.mark.parametrize("name", ["drop", "off_by_one", "billion"])
@pytest.mark.parametrize("plan", list(PLANS))
def test_variant_covers_the_frames_really_there(
    name: str, plan: str, quirky: dict[str, Quirky], tmp_path: Path
) -> None:
    q = quirky[name]
    spec = VariantSpec(name, 1, 11, (PLANS[plan],))
    meta = render_variant(q.path, tmp_path / "v.mp4", spec, max_side=64, chunk=4)
    assert meta["n_frames_src"] == q.n
    assert meta["n_frames_out"] == meta["n_frames_planned"] == len(spec.plan(q.n))
    assert probe(tmp_path / "v.mp4").n_frames == meta["n_frames_out"]


def test_stage_function_on_billion_header(quirky: dict[str, Quirky], tmp_path: Path) -> None:
    q = quirky["billion"]
    params = AugmentConfig.from_params({"k": 1, "max_side": 64}).to_params()
    args = {"source_video_id": "b", "variant": 1, "output": str(tmp_path / "b.mp4")}
    out = augment_one(Task("b__v1", str(q.path), args), params)
    assert 1 <= out["n_frames"] <= 3 * q.n and max(out["width"], out["height"]) <= 64


def test_frame_above_the_cap_is_a_failure_row(
    quirky: dict[str, Quirky], stage_index, tmp_path: Path
) -> None:
    index = stage_index({"drop": quirky["drop"].path})
    params = {"k": 1, "seed": 0, "max_side": 64, "output_dir": str(tmp_path / "aug")}
    meta, videos = augment_videos(
        index, params, SERIAL, str(tmp_path / "cache"), {"max_pixels": 160 * 96 - 1}
    )
    row = meta.row(0, named=True)
    assert row["status"] != "ok" and "too_large" in row["error"] and videos == {}
    assert not any((tmp_path / "aug").glob("*.mp4"))
    meta, videos = augment_videos(index, params, SERIAL, str(tmp_path / "cache"), None)
    assert meta.filter(pl.col("status") == "ok").height == 1 and len(videos) == 1
