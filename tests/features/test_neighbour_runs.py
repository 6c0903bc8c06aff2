"""Feature frames come in runs of neighbours, so traces between neighbouring frames survive.

A video whose odd frames are the mean of their neighbours (frame interpolation) is written to
a real file; the whole-video feature path must see the blend, where 16 uniformly spaced
samples of the same file (every fourth frame or so, all of one parity) cannot.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aura.features import compute_features
from aura.features.extract import extract_features
from aura.video import probe, run_indices, sample_frames, write_video

N = 61


def test_run_indices_are_runs_of_neighbours_spread_over_the_video() -> None:
    idx = run_indices(100, 16)
    assert idx.tolist() == sorted(set(idx.tolist())) and len(idx) == 16
    runs = np.split(idx, np.flatnonzero(np.diff(idx) != 1) + 1)
    assert [len(r) for r in runs] == [4, 4, 4, 4]
    assert idx[0] == 0 and idx[-1] == 99  # the whole video is covered
    assert run_indices(10, 16).tolist() == list(range(10))  # short: every frame
    assert len(run_indices(5, 3)) == 3
    with pytest.raises(ValueError, match="n_frames"):
        run_indices(0, 16)


def _frames(blend: bool) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:96, 0:128]
    out = []
    for t in range(N):
        scene = 110 + 50 * np.sin((xx + 3 * t) / 9.0) * np.cos(yy / 13.0)
        out.append(scene[..., None] + rng.normal(0, 6, (96, 128, 3)))  # fresh sensor noise
    if blend:
        for k in range(1, N - 1, 2):
            out[k] = 0.5 * (out[k - 1] + out[k + 1])
    return [np.clip(f, 0, 255).astype(np.uint8) for f in out]


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    return {
        name: write_video(root / f"{name}.mp4", _frames(name == "blend"), fps=25.0, crf=12)
        for name in ("plain", "blend")
    }


def test_the_blend_of_neighbouring_frames_is_seen_in_a_real_file(videos: dict[str, Path]) -> None:
    ratio = {k: extract_features(p, num_frames=16)["temp_oddeven_ratio"] for k, p in videos.items()}
    assert ratio["plain"] > 0.7 and ratio["blend"] < 0.35, ratio
    # what uniform samples (about every 4th frame, one parity) would have measured: no contrast
    uniform = {}
    for name, path in videos.items():
        clip = sample_frames(path, 16)
        info = probe(path, verify=False)
        out = compute_features(clip.frames, pts_s=clip.pts_s, info=info, indices=clip.indices)
        uniform[name] = out["temp_oddeven_ratio"]
    assert np.isnan(uniform["blend"]) and np.isnan(uniform["plain"]), uniform
