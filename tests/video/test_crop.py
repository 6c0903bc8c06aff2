"""Native-resolution crops through the sampler: equal to cropping the full decoded frames,
placed in the upright frame, zero-padded when a side is short, built one frame at a time."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from aura.video import Crop, crop_box, sample_frames, sample_indices, write_video

from .conftest import H, W, coded_frame, full_decode


@pytest.mark.parametrize(
    ("width", "height", "crop", "box"),
    [
        # (top, left, height, width, pad_top, pad_left)
        (160, 96, Crop(64), (16, 48, 64, 64, 0, 0)),  # centred
        (160, 96, Crop(64, (0.0, 0.0)), (0, 0, 64, 64, 0, 0)),
        (160, 96, Crop(64, (0.999, 0.999)), (32, 96, 64, 64, 0, 0)),  # last offsets
        (160, 96, Crop(64, (0.5, 0.25)), (16, 24, 64, 64, 0, 0)),  # floor(f * (room + 1))
        (160, 96, Crop(128), (0, 16, 96, 128, 16, 0)),  # short height: whole, padded, centred
        (50, 31, Crop(64, (0.7, 0.3)), (0, 0, 31, 50, 16, 7)),  # both short: position unused
        (64, 64, Crop(64, (0.9, 0.1)), (0, 0, 64, 64, 0, 0)),
    ],
)
def test_crop_box(width: int, height: int, crop: Crop, box: tuple[int, ...]) -> None:
    b = crop_box(width, height, crop)
    assert (b.top, b.left, b.height, b.width, b.pad_top, b.pad_left) == box
    top, bottom, left, right = b.padding
    assert top + b.height + bottom == crop.size == left + b.width + right
    assert 0 <= b.top <= max(height - crop.size, 0) and 0 <= b.left <= max(width - crop.size, 0)


def test_random_places_cover_every_offset_uniformly() -> None:
    """Uniform fractions give every whole-pixel offset of a side the same chance."""
    rng = np.random.default_rng(0)
    lefts = [crop_box(70, 64, Crop(64, (0.5, float(u)))).left for u in rng.random(7000)]
    counts = np.bincount(lefts, minlength=7)
    assert len(counts) == 7 and counts.min() > 850 and counts.max() < 1150


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_crop_rejects_bad_sizes(bad: object) -> None:
    with pytest.raises(ValueError):
        Crop(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Crop(8, (0.5, 1.5))


@pytest.mark.parametrize("name", ["h264_long_gop", "h264_open_gop", "vp9_webm", "vfr_mkv"])
@pytest.mark.parametrize("at", [None, (0.0, 0.0), (0.3, 0.8), (0.99, 0.5)])
def test_crop_equals_cropping_the_full_frames(name: str, at, videos, references) -> None:
    v, ref = videos[name], references[name]
    crop = Crop(48, at)
    clip = sample_frames(v.path, 7, crop=crop)
    b = crop_box(W, H, crop)
    assert clip.crop == b and clip.padding == (0, 0, 0, 0)
    assert clip.frames.shape == (7, 48, 48, 3) and clip.frames.dtype == np.uint8
    want = np.stack([ref[i] for i in sample_indices(v.n, 7)])
    assert np.array_equal(clip.frames, want[:, b.top : b.top + 48, b.left : b.left + 48])
    # explicit indices, repeated and out of order: same place in every frame
    idx = [v.n - 1, 3, 3, 0]
    again = sample_frames(v.path, indices=idx, crop=crop)
    assert np.array_equal(
        again.frames, np.stack([ref[i] for i in idx])[:, b.top : b.top + 48, b.left : b.left + 48]
    )


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_crop_is_placed_in_the_upright_frame(tmp_path: Path, rotation: int) -> None:
    frames = []
    for i in range(12):
        f = coded_frame(i)
        f[:20, :20] = (255, 0, 0)  # red square in the coded top-left corner
        frames.append(f)
    path = write_video(tmp_path / "rot.mp4", frames, fps=30, rotation=rotation, gop=6)
    k = (rotation // 90) % 4
    upright = [np.rot90(f, k) for f in full_decode(path)]
    h, w = upright[0].shape[:2]
    for at in (None, (0.0, 0.0), (1.0, 1.0), (0.2, 0.7)):
        crop = Crop(40, at)
        clip = sample_frames(path, 5, crop=crop)
        b = clip.crop
        assert b == crop_box(w, h, crop)  # placed by the upright size
        want = np.stack([upright[i] for i in clip.indices])[
            :, b.top : b.top + 40, b.left : b.left + 40
        ]
        assert np.array_equal(clip.frames, want), at
    # larger than the upright height (portrait: 96 wide): whole side, zero-padded, centred
    wide = sample_frames(path, 2, crop=Crop(112))
    top, bottom, left, right = wide.padding
    b = wide.crop
    assert wide.frames.shape == (2, 112, 112, 3)
    assert b.height == min(h, 112) and b.width == min(w, 112)
    assert abs(top - bottom) <= 1 and abs(left - right) <= 1
    assert not wide.frames[:, :top].any() and not wide.frames[:, 112 - bottom :].any()
    assert not wide.frames[:, :, :left].any() and not wide.frames[:, :, 112 - right :].any()
    inner = wide.frames[:, top : top + b.height, left : left + b.width]
    want = np.stack([upright[i] for i in wide.indices])[
        :, b.top : b.top + b.height, b.left : b.left + b.width
    ]
    assert np.array_equal(inner, want)


def test_crop_and_letterbox_exclude_each_other(videos) -> None:
    with pytest.raises(ValueError, match="not both"):
        sample_frames(videos["h264_short_gop"].path, 4, size=64, crop=Crop(32))


def test_crop_memory_is_the_crops_not_the_frames(tmp_path: Path) -> None:
    """Crops are cut from each frame as it is decoded: numpy never holds T full frames.

    tracemalloc sees numpy's allocations (not FFmpeg's decoded frame buffers): the peak while
    sampling 48 crops stays far below one (T, H, W, 3) array, which the full-frame path
    allocates for the same call.
    """
    w, h, t, s = 640, 480, 48, 64
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    path = write_video(tmp_path / "big.mp4", (np.roll(base, i, 1) for i in range(60)), gop=10)
    full_bytes = t * h * w * 3  # 44 MB

    def peak(**kw: object) -> tuple[int, np.ndarray]:
        tracemalloc.start()
        try:
            frames = sample_frames(path, t, **kw).frames
            return tracemalloc.get_traced_memory()[1], frames
        finally:
            tracemalloc.stop()

    crop_peak, crops = peak(crop=Crop(s))
    full_peak, full = peak()
    assert crops.shape == (t, s, s, 3)
    assert full_peak >= full_bytes  # the measurement sees a full-frame array when one is built
    assert crop_peak < full_bytes / 20  # T crops (590 KB) + bookkeeping, no full-size array
    b = crop_box(w, h, Crop(s))
    assert np.array_equal(crops, full[:, b.top : b.top + s, b.left : b.left + s])
