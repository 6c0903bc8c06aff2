"""The autoencoder scaler on a tiny random (untrained) VAE saved to disk: no downloads, no mocks."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from aura.video import iter_frames, probe, write_video
from aura.video.scale import scale_video
from aura.video.vae_scale import scale_video_vae
from tests.conftest import tiny_vae

pytest.importorskip("diffusers")


@pytest.fixture(scope="module")
def vae_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_vae(tmp_path_factory.mktemp("models") / "vae")


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (64, 96, 3), dtype=np.uint8)
    frames = [np.roll(base, 3 * i, axis=1) for i in range(10)]
    return write_video(tmp_path_factory.mktemp("clips") / "clip.mp4", frames, fps=25)


def test_vae_scale_geometry_and_determinism(clip: Path, vae_dir: Path, tmp_path: Path) -> None:
    plain = scale_video(clip, tmp_path / "plain.mp4", size=32)
    a = scale_video_vae(clip, tmp_path / "a.mp4", size=32, weights_path=vae_dir, batch=4)
    b = scale_video_vae(clip, tmp_path / "b.mp4", size=32, weights_path=vae_dir, batch=3)
    assert a == b == plain  # same geometry, frame counts and fps as the letterbox method
    info = probe(tmp_path / "a.mp4")
    assert (info.width, info.height, info.n_frames) == (32, 32, 10) == (32, 32, a["n_frames"])
    fa, fb, fp = (
        np.stack(list(iter_frames(tmp_path / n))) for n in ("a.mp4", "b.mp4", "plain.mp4")
    )
    np.testing.assert_array_equal(fa, fb)  # deterministic (latent mean), batch-independent
    rows = slice(a["pad_top"], 32 - a["pad_bottom"])
    assert a["pad_top"] > 0 and np.abs(fa[:, rows].astype(int) - fp[:, rows]).mean() > 10
    assert fa[:, : a["pad_top"] - 1].max() < 24  # padding stays (near) black after coding


def test_missing_weights_fail_fast(clip: Path, tmp_path: Path) -> None:
    t0 = time.perf_counter()
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nothere")):
        scale_video_vae(clip, tmp_path / "o.mp4", size=32, weights_path=tmp_path / "nothere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="config.json"):
        scale_video_vae(clip, tmp_path / "o.mp4", size=32, weights_path=tmp_path / "empty")
    assert time.perf_counter() - t0 < 1.0
    assert not (tmp_path / "o.mp4").exists()


def test_size_must_divide_by_vae_factor(clip: Path, tmp_path: Path) -> None:
    deep = tiny_vae(tmp_path / "deep", blocks=(8, 8, 16))  # factor 4
    with pytest.raises(ValueError, match=r"scaling\.target_size=34.*factor 4"):
        scale_video_vae(clip, tmp_path / "o.mp4", size=34, weights_path=deep)
