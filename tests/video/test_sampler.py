"""Exactness of sample_frames against a plain full decode, on real files of every kind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from aura.video import VideoDecodeError, iter_frames, letterbox, sample_frames, sample_indices
from aura.video.threads import _slice_count
from aura.video.writer import write_video

from .conftest import H, W, coded_frame, full_decode, read_index, remux, truncate

ALL = [
    "h264_long_gop",
    "h264_slices",
    "h264_short_gop",
    "h264_open_gop",
    "h264_no_bframes",
    "mpeg4_avi",
    "vp9_webm",
    "vfr_mkv",
]


def test_sample_indices_center_of_segment() -> None:
    assert sample_indices(10, 4).tolist() == [1, 3, 6, 8]
    assert sample_indices(16, 16).tolist() == list(range(16))
    assert sample_indices(1, 3).tolist() == [0, 0, 0]
    assert sample_indices(300, 16).tolist()[:3] == [9, 28, 46]
    n, t = 5, 12  # fewer frames than asked: every frame used, repeated in order
    idx = sample_indices(n, t)
    assert np.all(np.diff(idx) >= 0) and set(idx.tolist()) == set(range(n))
    assert np.array_equal(idx, np.floor((np.arange(t) + 0.5) * n / t).astype(int))
    with pytest.raises(ValueError):
        sample_indices(0, 4)
    with pytest.raises(ValueError):
        sample_indices(4, 0)


@pytest.mark.parametrize("name", ALL)
def test_exact_against_full_decode(name: str, videos, references) -> None:
    v, ref = videos[name], references[name]
    assert len(ref) == v.n
    for t in (1, 7, 16, v.n, v.n + 13):
        clip = sample_frames(v.path, t)
        want = sample_indices(v.n, t)
        assert clip.n_frames == v.n
        assert clip.padding is None
        assert clip.frames.shape == (t, H, W, 3) and clip.frames.dtype == np.uint8
        assert np.array_equal(clip.indices, want)
        assert np.array_equal(clip.frames, np.stack([ref[i] for i in want])), f"{name} T={t}"
        assert [read_index(f) for f in clip.frames] == want.tolist()


@pytest.mark.parametrize("name", ALL)
def test_explicit_indices_any_order(name: str, videos, references) -> None:
    v, ref = videos[name], references[name]
    idx = [v.n - 1, 0, 5, 5, v.n // 2, 1, v.n - 2]
    clip = sample_frames(v.path, indices=idx)
    assert clip.indices.tolist() == idx
    assert np.array_equal(clip.frames, np.stack([ref[i] for i in idx]))
    assert [read_index(f) for f in clip.frames] == idx


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("name", ["h264_long_gop", "h264_slices", "h264_open_gop", "vp9_webm"])
def test_exact_with_frame_threads(name: str, threads: int, videos, references) -> None:
    v, ref = videos[name], references[name]
    clip = sample_frames(v.path, 16, threads=threads)
    assert np.array_equal(clip.frames, np.stack([ref[i] for i in sample_indices(v.n, 16)]))


def test_slice_count_picks_thread_kind(videos) -> None:
    for name, slices in (("h264_slices", 4), ("h264_long_gop", 1), ("vp9_webm", 1)):
        with av.open(str(videos[name].path)) as c:
            s = c.streams.video[0]
            assert _slice_count(s.codec_context, next(iter(c.demux(s)))) == slices, name


def test_pts_cfr_and_vfr(videos) -> None:
    v = videos["h264_short_gop"]
    clip = sample_frames(v.path, 8)
    np.testing.assert_allclose(
        clip.pts_s - clip.pts_s[0], (clip.indices - clip.indices[0]) / 30, atol=1e-3
    )
    vfr = videos["vfr_mkv"]
    clip = sample_frames(vfr.path, 10)
    assert clip.n_frames == vfr.n
    np.testing.assert_allclose(clip.pts_s, [vfr.pts_ms[i] / 1000 for i in clip.indices], atol=1e-3)


def test_iter_frames_streams_everything(videos, references) -> None:
    for name in ("h264_short_gop", "vfr_mkv"):
        frames = list(iter_frames(videos[name].path))
        assert len(frames) == videos[name].n
        assert all(np.array_equal(a, b) for a, b in zip(frames, references[name], strict=True))
    small = next(iter_frames(videos["h264_short_gop"].path, size=64))
    assert small.shape == (64, 64, 3)


def test_letterboxed_sampling(videos, references) -> None:
    v, ref = videos["h264_short_gop"], references["h264_short_gop"]
    clip = sample_frames(v.path, 4, size=112)
    assert clip.frames.shape == (4, 112, 112, 3)
    top, bottom, left, right = clip.padding
    assert (left, right) == (0, 0) and top + bottom == 112 - 67 and abs(top - bottom) <= 1
    assert not clip.frames[:, :top].any() and not clip.frames[:, 112 - bottom :].any()
    for frame, i in zip(clip.frames, clip.indices, strict=True):
        expect, pad = letterbox(ref[i], 112)  # cv2 INTER_AREA vs swscale AREA: close, not equal
        assert pad == clip.padding
        assert np.abs(frame.astype(int) - expect).mean() < 4


def _marker_video(path: Path, rotation: int) -> Path:
    def frame(i: int) -> np.ndarray:
        f = coded_frame(i)
        f[:20, :20] = (255, 0, 0)  # red square in the coded top-left corner
        return f

    return write_video(path, (frame(i) for i in range(20)), fps=30, rotation=rotation, gop=10)


@pytest.mark.parametrize(
    ("rotation", "k", "corner"),
    [(90, 1, "bottom_left"), (-90, 3, "top_right"), (180, 2, "bottom_right")],
)
def test_rotation_upright(tmp_path: Path, rotation: int, k: int, corner: str) -> None:
    path = _marker_video(tmp_path / "rot.mp4", rotation)
    ref = full_decode(path)
    clip = sample_frames(path, 5)
    h, w = (W, H) if k % 2 else (H, W)
    assert clip.frames.shape == (5, h, w, 3)
    for frame, i in zip(clip.frames, clip.indices, strict=True):
        assert np.array_equal(frame, np.rot90(ref[i], k))  # FFmpeg: angle is counter-clockwise
        rows = slice(0, 16) if corner.startswith("top") else slice(h - 16, h)
        cols = slice(0, 16) if corner.endswith("left") else slice(w - 16, w)
        patch = frame[rows, cols].astype(int)
        assert patch[..., 0].mean() > 200 and patch[..., 1:].mean() < 60, corner
    boxed = sample_frames(path, 2, size=64)
    assert boxed.frames.shape == (2, 64, 64, 3)
    if k % 2:  # portrait after rotation: pillarboxed left/right
        assert boxed.padding[:2] == (0, 0) and sum(boxed.padding[2:]) == 64 - 38


def test_bad_inputs(tmp_path: Path, videos) -> None:
    html = tmp_path / "page.mp4"
    html.write_text("<!doctype html><html><body>not a video</body></html>")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    half = truncate(videos["h264_short_gop"].path, tmp_path / "half.mp4", 0.5)
    cases = {tmp_path / "nope.mp4": "missing", empty: "empty", html: "not_video", half: "corrupt"}
    for path, reason in cases.items():
        with pytest.raises(VideoDecodeError) as e:
            sample_frames(path, 4)
        assert e.value.reason == reason and path.name in str(e.value)
    with pytest.raises(ValueError):
        sample_frames(videos["h264_short_gop"].path, indices=[0, 90])


def test_truncated_after_header_reports_decoded_count(tmp_path: Path, videos) -> None:
    # moov first, then half the media data: opens fine, but the tail is gone.
    fast = remux(
        videos["h264_no_bframes"].path, tmp_path / "fast.mp4", options={"movflags": "faststart"}
    )
    cut = truncate(fast, tmp_path / "cut.mp4", 0.5)
    with pytest.raises(VideoDecodeError) as e:
        sample_frames(cut, 16)
    assert e.value.reason == "corrupt" and "decoded only" in str(e.value)
    cut_b = truncate(
        remux(
            videos["h264_short_gop"].path, tmp_path / "fb.mp4", options={"movflags": "faststart"}
        ),
        tmp_path / "cb.mp4",
        0.5,
    )
    with pytest.raises(VideoDecodeError) as e:
        sample_frames(cut_b, 16)
    assert e.value.reason == "corrupt" and "truncated" in str(e.value)


def test_broken_frame_is_replaced_by_next(tmp_path: Path, videos, references) -> None:
    """A non-reference frame whose data is garbage never comes out; the next frame stands in."""
    v, ref = videos["h264_short_gop"], references["h264_short_gop"]
    with av.open(str(v.path)) as c:  # find non-reference frames: the ones NONREF skips
        s = c.streams.video[0]
        s.codec_context.skip_frame = "NONREF"
        kept = {f.pts for f in c.decode(s)}
    with av.open(str(v.path)) as c:
        pts_all = sorted(p.pts for p in c.demux(video=0) if p.size)
    victim = next(p for p in pts_all[10:] if p not in kept)
    broken = remux(
        v.path,
        tmp_path / "broken.mkv",
        mutate=lambda pk: bytes(pk.size) if pk.pts == victim else None,
    )
    k = pts_all.index(victim)
    clip = sample_frames(broken, indices=[k - 1, k, k + 2])
    assert np.array_equal(clip.frames[0], ref[k - 1])
    assert np.array_equal(clip.frames[1], ref[k + 1])  # stand-in: the next decoded frame
    assert np.array_equal(clip.frames[2], ref[k + 2])


def test_index_timestamps_that_are_not_pts(tmp_path: Path, videos) -> None:
    """No B-frames, yet pts = dts + offset: the MP4 index (DTS) is not usable; still exact."""
    src = videos["h264_no_bframes"].path
    dst = tmp_path / "offset.mp4"
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        s_in = inp.streams.video[0]
        s_out = out.add_stream_from_template(s_in)
        for pk in inp.demux(s_in):
            if pk.dts is not None:
                pk.pts += 1024
                pk.stream = s_out
                out.mux(pk)
    ref = full_decode(dst)
    clip = sample_frames(dst, 7)
    assert clip.n_frames == len(ref) == videos["h264_no_bframes"].n
    assert np.array_equal(clip.frames, np.stack([ref[i] for i in sample_indices(len(ref), 7)]))


def test_raw_h264_without_timestamps(tmp_path: Path) -> None:
    """An elementary stream has no pts: sampling falls back to a sequential decode, still exact."""
    path = tmp_path / "raw.h264"
    with av.open(str(path), "w", format="h264") as c:
        s = c.add_stream("libx264", rate=30, options={"bf": "2", "g": "10"})
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        for i in range(40):
            for pk in s.encode(av.VideoFrame.from_ndarray(coded_frame(i), format="rgb24")):
                c.mux(pk)
        for pk in s.encode(None):
            c.mux(pk)
    ref = full_decode(path)
    clip = sample_frames(path, 6)
    assert clip.n_frames == len(ref) == 40
    assert np.array_equal(clip.frames, np.stack([ref[i] for i in sample_indices(40, 6)]))


_MEMORY_PROBE = """
import json, sys
import numpy as np
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
import av
from aura.video import sample_frames
before = hwm()
if sys.argv[2] == "ours":
    frames = sample_frames(sys.argv[1], 8).frames
else:  # the naive way: everything in a list
    with av.open(sys.argv[1]) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
print(json.dumps({"grow": hwm() - before, "out": int(sum(f.nbytes for f in frames))}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc for VmHWM")
def test_peak_memory_does_not_scale_with_length(tmp_path: Path) -> None:
    path = write_video(
        tmp_path / "long.mp4",
        (np.roll(coded_frame(i, 640, 360), i * 4, axis=1) for i in range(300)),
        fps=30,
        gop=60,
        preset="ultrafast",
    )

    def run(mode: str) -> dict[str, int]:
        res = subprocess.run(
            [sys.executable, "-c", _MEMORY_PROBE, str(path), mode],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(res.stdout)

    ours = run("ours")
    frame = 640 * 360 * 3
    bound = 8 * frame * 3 + 48 * 2**20  # T output frames (with slack) + one decoder
    assert ours["out"] == 8 * frame
    assert ours["grow"] < bound, ours
    naive = run("naive")  # the same bound catches decoding everything into a list
    assert naive["grow"] > bound, naive
