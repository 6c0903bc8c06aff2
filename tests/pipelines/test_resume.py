"""A per-video stage killed mid-run resumes without redoing finished videos and gives the same outputs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from aura.pipelines.scaling.nodes import scale_videos
from aura.video import VideoDecodeError, probe, write_video

N = 8


def _ok_index(
    root: Path, prefix: str, n: int, size: tuple[int, int], frames: int, shift: int, seed: int
) -> pl.DataFrame:
    """``n`` PyAV-written clips of a texture rolling ``shift`` px per frame, as an all-ok index."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        base = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
        clip = [np.roll(base, shift * k, axis=1) for k in range(frames)]
        rows.append(
            {
                "video_id": f"{prefix}{i}",
                "path": str(write_video(root / f"{prefix}{i}.mp4", clip, fps=25)),
                "status": "ok",
                "error": None,
                "label": "real",
                "target": 0,
                "cascade_id": f"c{i}",
                "group_id": f"c{i}",
            }
        )
    return pl.DataFrame(rows, schema_overrides={"error": pl.String})


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    return _ok_index(tmp_path_factory.mktemp("videos"), "v", N, (180, 320), 60, 3, seed=1)


def _params(work: Path) -> tuple[dict, dict]:
    scaling = {
        "method": "letterbox",
        "target_size": 64,
        "crf": 18,
        "output_dir": str(work / "scaled"),
    }
    return scaling, {"backend": "serial", "progress": False}


def test_killed_scaling_resumes(
    index: pl.DataFrame, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    index.write_ipc(tmp_path / "index.arrow")
    script = textwrap.dedent(f"""
        import polars as pl
        from aura.pipelines.scaling.nodes import scale_videos
        index = pl.read_ipc({str(tmp_path / "index.arrow")!r})
        scaling = {{"method": "letterbox", "target_size": 64, "crf": 18, "output_dir": {str(killed / "scaled")!r}}}
        scale_videos(index, pl.DataFrame(), scaling, {{"backend": "serial", "progress": False}}, {str(killed / "cache")!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((killed / "cache").rglob("*.json"))) < 2:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(list((killed / "cache").rglob("*.json")))
    assert 2 <= done < N, f"kill landed after {done} of {N} videos; make the videos longer"

    caplog.set_level("INFO", logger="aura.executor")
    scaling, executor = _params(killed)
    resumed, videos = scale_videos(index, pl.DataFrame(), scaling, executor, str(killed / "cache"))
    summary = next(
        r.getMessage() for r in caplog.records if r.getMessage().startswith("stage=scaling")
    )
    assert f"cached={done} computed={N - done}" in summary

    scaling, executor = _params(clean)
    fresh, fresh_videos = scale_videos(
        index, pl.DataFrame(), scaling, executor, str(clean / "cache")
    )
    cols = [c for c in fresh.columns if c != "path"]
    assert resumed.select(cols).equals(fresh.select(cols))
    for key, path in videos.items():
        assert Path(path).read_bytes() == Path(fresh_videos[key]).read_bytes(), key
    assert sorted(
        p.name for p in (killed / "scaled").iterdir() if not p.name.startswith(".")
    ) == sorted(f"v{i}.mp4" for i in range(N))


@pytest.fixture(scope="module")
def small_index(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    """Three short 96x64 PyAV-written videos, as an ingest index."""
    return _ok_index(tmp_path_factory.mktemp("small"), "s", 3, (64, 96), 20, 2, seed=2)


def _summary(caplog: pytest.LogCaptureFixture, stage: str) -> str:
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"stage={stage} ")]
    return lines[-1]


def test_truncated_or_deleted_outputs_are_recomputed(
    small_index: pl.DataFrame, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Augmented and scaled videos are reused only while they match their recorded hash."""
    from aura.pipelines.augmentation.nodes import augment_videos

    executor, cache = {"backend": "serial", "progress": False}, str(tmp_path / "cache")
    augmentation = {"k": 2, "seed": 0, "max_side": 64, "output_dir": str(tmp_path / "aug")}
    scaling = {"method": "letterbox", "target_size": 32, "crf": 18}
    scaling["output_dir"] = str(tmp_path / "scaled")

    def run() -> tuple[pl.DataFrame, pl.DataFrame]:
        meta, _ = augment_videos(small_index, augmentation, executor, cache)
        scaled, _ = scale_videos(small_index, meta, scaling, executor, cache)
        return meta, scaled

    meta, scaled = run()
    assert meta["status"].to_list() == ["ok"] * 6 and scaled["status"].to_list() == ["ok"] * 9
    variants, small = meta["path"].to_list(), scaled["path"].to_list()
    good = {p: Path(p).read_bytes() for p in variants + small}
    truncated, deleted = variants[1], variants[4]
    Path(truncated).write_bytes(good[truncated][: len(good[truncated]) // 2])
    Path(deleted).unlink()
    Path(small[0]).write_bytes(good[small[0]][:-100])  # a scaled original, truncated too
    with pytest.raises(VideoDecodeError):  # what a downstream stage would have read
        probe(truncated)

    caplog.set_level("INFO", logger="aura.executor")
    again_meta, again_scaled = run()
    assert "tasks=6 cached=4 computed=2 failed=0" in _summary(caplog, "augmentation")
    # The two variants come back byte for byte, so only the damaged scaled file is redone.
    assert "tasks=9 cached=8 computed=1 failed=0" in _summary(caplog, "scaling")
    assert "the file is missing" in caplog.text and "size" in caplog.text
    assert again_meta.equals(meta) and again_scaled.equals(scaled)
    for path in (truncated, deleted, small[0]):
        assert Path(path).read_bytes() == good[path], path
        row = again_meta.filter(pl.col("path") == path)
        row = row if row.height else again_scaled.filter(pl.col("path") == path)
        assert probe(path).n_frames == row["n_frames"][0]
