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
from aura.video import write_video

N = 8


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    root = tmp_path_factory.mktemp("videos")
    rng = np.random.default_rng(1)
    rows = []
    for i in range(N):
        base = rng.integers(0, 255, (180, 320, 3), dtype=np.uint8)
        path = write_video(
            root / f"v{i}.mp4", [np.roll(base, 3 * k, axis=1) for k in range(60)], fps=25
        )
        rows.append(
            {
                "video_id": f"v{i}",
                "path": str(path),
                "status": "ok",
                "error": None,
                "label": "real",
                "target": 0,
                "cascade_id": f"c{i}",
                "group_id": f"c{i}",
            }
        )
    return pl.DataFrame(rows)


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
