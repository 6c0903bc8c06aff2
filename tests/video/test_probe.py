"""probe(): metadata of real files, and every failure reason."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import pytest

from aura.video import VideoDecodeError, probe

from .conftest import H, W, coded_frame, remux, truncate, write_with_audio


@pytest.mark.parametrize(
    ("name", "codec", "source", "header"),
    [
        ("h264_long_gop", "h264", "index", 120),  # MP4 sample table, checked by the header
        ("h264_short_gop", "h264", "index", 90),
        ("mpeg4_avi", "mpeg4", "index", 60),  # AVI idx1
        ("vp9_webm", "vp9", "demux", None),  # WebM has no frame count in its header
        ("h264_open_gop", "h264", "demux", None),
    ],
)
def test_metadata(name: str, codec: str, source: str, header: int | None, videos) -> None:
    v = videos[name]
    info = probe(v.path)
    assert (info.width, info.height, info.rotation) == (W, H, 0)
    assert info.codec == codec and info.pix_fmt == "yuv420p"
    assert info.n_frames == v.n and info.n_frames_source == source
    assert info.n_frames_header == header
    assert info.fps == pytest.approx(30.0, rel=1e-3)
    assert info.duration_s == pytest.approx(v.n / 30, abs=0.05)
    assert info.has_audio is False
    assert info.size_bytes == v.path.stat().st_size
    assert info.bit_rate is None or info.bit_rate > 0
    assert info.container


def test_vfr_counts_frames(videos) -> None:
    v = videos["vfr_mkv"]
    info = probe(v.path)
    assert info.n_frames == v.n and info.n_frames_source == "demux"
    end = v.pts_ms[-1] / 1000
    assert end <= info.duration_s <= end + 0.06


def test_audio_track(tmp_path: Path) -> None:
    info = probe(write_with_audio(tmp_path / "av.mp4", 30))
    assert info.has_audio and info.n_frames == 30 and (info.width, info.height) == (W, H)


@pytest.mark.parametrize("rotation,expected", [(90, 90), (-90, 270), (180, 180)])
def test_rotation_is_normalised(tmp_path: Path, rotation: int, expected: int) -> None:
    from aura.video.writer import write_video

    path = write_video(tmp_path / "r.mp4", (coded_frame(i) for i in range(6)), rotation=rotation)
    info = probe(path)
    assert info.rotation == expected and (info.width, info.height) == (W, H)  # coded size


def _reason(path: Path) -> VideoDecodeError:
    with pytest.raises(VideoDecodeError) as e:
        probe(path)
    assert path.name in str(e.value)
    return e.value


def test_missing_empty_unreadable(tmp_path: Path) -> None:
    assert _reason(tmp_path / "nope.mp4").reason == "missing"
    (tmp_path / "empty.mp4").write_bytes(b"")
    assert _reason(tmp_path / "empty.mp4").reason == "empty"
    (tmp_path / "dir.mp4").mkdir()
    err = _reason(tmp_path / "dir.mp4")
    assert err.reason == "not_video" and "not a regular file (a directory)" in str(err)


def test_not_video(tmp_path: Path) -> None:
    html = tmp_path / "page.mp4"
    html.write_text(
        "<!DOCTYPE html>\n<html><head><title>404</title></head><body>gone</body></html>\n"
    )
    err = _reason(html)
    assert err.reason == "not_video" and "Invalid data" in str(err)  # FFmpeg's own message
    png = tmp_path / "image.mp4"
    png.write_bytes(cv2.imencode(".png", coded_frame(3))[1].tobytes())
    assert _reason(png).reason == "not_video"
    audio = write_with_audio(tmp_path / "audio_only.mp4", 30, video=False)
    err = _reason(audio)
    assert err.reason == "not_video" and "no video stream" in str(err)


def test_corrupt(tmp_path: Path, videos) -> None:
    # moov atom at the end (the default): half a file has no index at all.
    err = _reason(truncate(videos["h264_short_gop"].path, tmp_path / "half.mp4", 0.5))
    assert err.reason == "corrupt" and "Invalid data" in str(err)
    # moov first (faststart): opens, but the end of the stream is gone.
    fast = remux(
        videos["h264_short_gop"].path, tmp_path / "fast.mp4", options={"movflags": "faststart"}
    )
    assert probe(fast).n_frames == videos["h264_short_gop"].n
    err = _reason(truncate(fast, tmp_path / "fast_cut.mp4", 0.6))
    assert err.reason == "corrupt" and "truncated" in str(err)
    # Matroska / WebM keep their header: the duration tells the tail is missing.
    for name, suffix in (("vp9_webm", ".webm"), ("h264_open_gop", ".mkv")):
        err = _reason(truncate(videos[name].path, tmp_path / f"cut{suffix}", 0.5))
        assert err.reason == "corrupt", name
    # Without verify, only what is cheap is checked: the faststart cut still opens.
    assert probe(tmp_path / "fast_cut.mp4", verify=False).n_frames == videos["h264_short_gop"].n


def test_probe_is_fast(videos) -> None:
    path = videos["h264_short_gop"].path
    probe(path)
    t0 = time.perf_counter()
    for _ in range(10):
        probe(path)
    assert (time.perf_counter() - t0) / 10 < 0.05
