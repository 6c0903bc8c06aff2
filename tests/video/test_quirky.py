"""Valid files whose headers miscount, files that are not regular, frames above the pixel cap."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import polars as pl
import pytest

from aura.executor import Task
from aura.pipelines.scaling.nodes import scale_one, scale_videos
from aura.video import VideoDecodeError, iter_frames, probe, sample_frames
from aura.video.limits import MAX_PIXELS

from ..conftest import Quirky, avi_chunk_sizes
from .conftest import H, W, full_decode, remux, truncate, write_growing_mkv

SCALE = {"method": "letterbox", "target_size": 32, "crf": 18}
SERIAL = {"backend": "serial", "progress": False}


def _decodes_like_ffmpeg(q: Quirky, num_frames: int) -> None:
    """The sampler sees exactly the frames a plain decode gives, however the header counts."""
    ref = full_decode(q.path)
    assert len(ref) == q.n
    clip = sample_frames(q.path, num_frames)
    assert clip.n_frames == q.n and clip.indices.max() < q.n
    for frame, i in zip(clip.frames, clip.indices, strict=True):
        assert np.array_equal(frame, ref[i])
    every = list(iter_frames(q.path))
    assert len(every) == q.n and all(np.array_equal(a, b) for a, b in zip(every, ref, strict=True))


def test_drop_frame_avi_has_zero_length_chunks_ffmpeg_skips(quirky: dict[str, Quirky]) -> None:
    q = quirky["drop"]
    sizes = avi_chunk_sizes(q.path)
    assert sizes.count(0) == q.header - q.n >= 10 and sizes[-3:] == [0, 0, 0]
    with av.open(str(q.path)) as c:
        s = c.streams.video[0]
        assert s.frames == q.header
        packets = list(c.demux(s))
    # FFmpeg's AVI demuxer emits no packet for a zero-length chunk: the timestamps jump.
    real = [p for p in packets if p.size]
    assert len(real) == q.n and not any(p.size == 0 and p.pts is not None for p in packets)
    pts = [p.pts for p in real]
    assert pts == sorted(pts) and pts[-1] > q.n


def test_drop_frame_avi_is_ok_with_the_frames_there(quirky: dict[str, Quirky]) -> None:
    q = quirky["drop"]
    info = probe(q.path)
    assert (info.n_frames, info.n_frames_header, info.n_frames_source) == (q.n, q.header, "demux")
    assert info.n_frames < info.n_frames_header
    # Duration: to the end of the last real frame, not of the trailing drop chunks.
    with av.open(str(q.path)) as c:
        last = max(p.pts for p in c.demux(video=0) if p.size)
    assert info.duration_s == pytest.approx((last + 1) / 25)
    _decodes_like_ffmpeg(q, 16)


@pytest.mark.parametrize("name", ["off_by_one", "billion"])
def test_miscounting_header_is_ok_with_the_frames_there(
    name: str, quirky: dict[str, Quirky]
) -> None:
    q = quirky[name]
    info = probe(q.path)
    assert (info.n_frames, info.n_frames_header) == (q.n, q.header)
    assert info.duration_s == pytest.approx(q.n / 25, abs=0.05)
    _decodes_like_ffmpeg(q, 16)


@pytest.mark.parametrize("name", ["drop", "off_by_one", "billion"])
def test_scaling_stage_uses_the_frames_there(
    name: str, quirky: dict[str, Quirky], tmp_path: Path
) -> None:
    q = quirky[name]
    out = scale_one(Task(name, str(q.path), {"output": str(tmp_path / "s.mp4")}), SCALE)
    assert out["n_frames"] == out["source_n_frames"] == q.n
    assert probe(tmp_path / "s.mp4").n_frames == q.n


_NO_ALLOC = """
import resource, sys
import torch  # noqa: F401  (imported by augmentation; its mappings count before the cap)
from aura.augment import OpSpec, VariantSpec, render_variant
from aura.features import extract_features
from aura.video import probe, sample_frames
from aura.video.scale import scale_video

def vm_bytes():
    for line in open("/proc/self/status"):
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024

cap = vm_bytes() + (1 << 30)
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
src, out = sys.argv[1], sys.argv[2]
print("probe", probe(src).n_frames)
print("sample", sample_frames(src, 16).n_frames)
print("features", len(extract_features(src)))
for name, params in (("reverse", {}), ("frame_dup", {"fraction": 0.2, "max_repeats": 2, "seed": 1})):
    spec = VariantSpec("x", 1, 7, (OpSpec(name, "temporal", params),))
    meta = render_variant(src, f"{out}/{name}.mp4", spec, max_side=64)
    print(name, meta["n_frames_src"], meta["n_frames_out"])
print("scale", scale_video(src, f"{out}/s.mp4", size=32)["n_frames"])
"""


@pytest.mark.slow
def test_billion_frame_header_allocates_nothing(quirky: dict[str, Quirky], tmp_path: Path) -> None:
    """Every stage under an address-space cap of 1 GiB above the imports: 10^9 is never used.

    ~10 s measured (mostly importing torch); a regression fails with MemoryError, not swap.
    """
    q = quirky["billion"]
    run = subprocess.run(
        [sys.executable, "-c", _NO_ALLOC, str(q.path), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in run.stdout.splitlines())
    assert lines["probe"] == lines["sample"] == lines["scale"] == str(q.n)
    assert lines["reverse"] == f"{q.n} {q.n}"
    assert int(lines["frame_dup"].split()[0]) == q.n and int(lines["frame_dup"].split()[1]) > q.n


_OPEN_FIFO = """
import sys, time
from aura.video import VideoDecodeError, iter_frames, probe, sample_frames
for fn in (probe, lambda p: sample_frames(p, 4), lambda p: next(iter_frames(p))):
    t0 = time.perf_counter()
    try:
        fn(sys.argv[1])
        print("opened")
    except VideoDecodeError as e:
        print(f"{time.perf_counter() - t0:.3f}", e.reason, e)
"""


def test_fifo_is_not_video_and_never_opened(tmp_path: Path) -> None:
    """A FIFO named like a video blocks any open(); it must be refused by os.stat alone.

    Run in a subprocess with a timeout (~1 s measured), so a regression fails, never hangs.
    """
    fifo = tmp_path / "x.mp4"
    os.mkfifo(fifo)
    run = subprocess.run(
        [sys.executable, "-c", _OPEN_FIFO, str(fifo)], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    assert len(lines) == 3
    for line in lines:
        seconds, reason, message = line.split(" ", 2)
        assert reason == "not_video" and float(seconds) < 1.0
        assert "x.mp4" in message and "not a regular file (a FIFO" in message


def test_special_files_are_not_video(tmp_path: Path) -> None:
    sock_path = tmp_path / "s.mp4"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(sock_path))
    (tmp_path / "dir.mp4").mkdir()
    try:
        cases = {sock_path: "a socket", tmp_path / "dir.mp4": "a directory"}
        if Path("/dev/zero").exists():
            cases[Path("/dev/zero")] = "a character device"
        for path, kind in cases.items():
            with pytest.raises(VideoDecodeError) as e:
                probe(path)
            assert e.value.reason == "not_video" and f"not a regular file ({kind})" in str(e.value)
    finally:
        sock.close()


# --- the pixel cap ---------------------------------------------------------------------------


def _too_large(fn, *args, **kwargs) -> VideoDecodeError:
    with pytest.raises(VideoDecodeError) as e:
        fn(*args, **kwargs)
    assert e.value.reason == "too_large" and "ingest.max_pixels" in str(e.value)
    return e.value


def test_pixel_cap_refuses_above_and_accepts_at(videos, tmp_path: Path) -> None:
    path = videos["h264_short_gop"].path
    below = W * H - 1
    err = _too_large(probe, path, max_pixels=below)
    assert path.name in str(err) and f"{W}x{H}" in str(err)
    _too_large(sample_frames, path, 4, max_pixels=below)
    _too_large(lambda: next(iter_frames(path, max_pixels=below)))
    task = Task("v", str(path), {"output": str(tmp_path / "s.mp4")})
    _too_large(scale_one, task, {**SCALE, "max_pixels": below})
    assert not (tmp_path / "s.mp4").exists()
    assert probe(path, max_pixels=W * H).n_frames == videos["h264_short_gop"].n
    assert sample_frames(path, 4, max_pixels=W * H).frames.shape == (4, H, W, 3)


def test_frame_bigger_than_its_header_is_refused(tmp_path: Path) -> None:
    path = write_growing_mkv(tmp_path / "grow.mkv", (W, H), (2 * W, 2 * H))
    with av.open(str(path)) as c:
        ctx = c.streams.video[0].codec_context
        assert (ctx.width, ctx.height) == (W, H)  # what the header says
    cap = 2 * W * H  # above the header's size, below the second half's
    assert "320x192" in str(_too_large(probe, path, max_pixels=cap))  # its tail is decoded
    _too_large(sample_frames, path, 8, max_pixels=cap)
    _too_large(lambda: list(iter_frames(path, max_pixels=cap)))
    assert probe(path).n_frames == 20


@pytest.mark.slow
def test_8192_square_clip_is_too_large(huge_clip: Path) -> None:
    assert huge_clip.stat().st_size < 1_000_000
    err = _too_large(probe, huge_clip)
    assert "8192x8192" in str(err) and str(MAX_PIXELS) in str(err)


def test_scaling_node_turns_too_large_into_a_failure_row(
    quirky: dict[str, Quirky], stage_index, tmp_path: Path
) -> None:
    """Defence in depth: ingest accepted the file, the stage's own cap still refuses it."""
    index = stage_index({"drop": quirky["drop"].path, "cut": quirky["off_by_one"].path})
    scaling = {**SCALE, "output_dir": str(tmp_path / "scaled")}
    cache = str(tmp_path / "cache")
    table, videos = scale_videos(index, pl.DataFrame(), scaling, SERIAL, cache, {"max_pixels": 99})
    assert videos == {} and table["status"].to_list() == ["failed", "failed"]
    assert all("too_large" in e for e in table["error"])
    table, videos = scale_videos(index, pl.DataFrame(), scaling, SERIAL, cache, None)
    assert sorted(videos) == ["cut", "drop"]
    assert table.sort("video_id")["n_frames"].to_list() == [
        quirky["off_by_one"].n,
        quirky["drop"].n,
    ]


def test_one_damaged_packet_costs_one_frame_in_every_decoder_path(tmp_path: Path) -> None:
    """A packet the H.264 decoder rejects is skipped (as FFmpeg's CLI does), not the whole file."""
    from aura.features.extract import extract_features
    from aura.video.scale import scale_video

    from ..conftest import texture

    src = tmp_path / "clean.mp4"
    with av.open(str(src), "w") as out:
        stream = out.add_stream("h264", rate=25, options={"threads": "1"})
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        for i in range(30):
            frame = av.VideoFrame.from_ndarray(texture(i), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    with av.open(str(src)) as c:
        packets = [(p.pos, p.size) for p in c.demux(video=0) if p.size]
    pos, size = packets[15]
    data = bytearray(src.read_bytes())
    data[pos : pos + min(size, 16)] = b"\xff" * min(size, 16)
    bad = tmp_path / "damaged.mp4"
    bad.write_bytes(bytes(data))
    with av.open(str(bad)) as c:  # the decoder really rejects that packet
        ctx = c.streams.video[0].codec_context
        with pytest.raises(av.FFmpegError):
            for packet in c.demux(video=0):
                ctx.decode(packet)

    assert probe(bad).n_frames == 30
    frames = list(iter_frames(bad))
    assert 0 < len(frames) < 30
    assert sample_frames(bad, 8).frames.shape[0] == 8
    assert np.isfinite(list(extract_features(bad, num_frames=8).values())).any()
    meta = scale_video(bad, tmp_path / "scaled.mp4", size=32)
    assert meta["n_frames"] == len(frames)
    assert probe(tmp_path / "scaled.mp4").n_frames == len(frames)


def test_truncated_file_fails_scaling_as_at_ingest(videos, tmp_path: Path) -> None:
    """Skipping damaged packets must not turn a cut-off download into a shorter 'ok' video."""
    from aura.video.scale import scale_video

    # moov first (as downloads stream): the cut file opens, and its first frames decode
    fast = remux(
        videos["h264_short_gop"].path, tmp_path / "fast.mp4", options={"movflags": "faststart"}
    )
    cut = truncate(fast, tmp_path / "cut.mp4", 0.6)
    assert 0 < len(list(iter_frames(cut))) < videos["h264_short_gop"].n
    with pytest.raises(VideoDecodeError, match="corrupt") as ingest:
        probe(cut)
    with pytest.raises(VideoDecodeError, match="corrupt") as scaling:
        scale_video(cut, tmp_path / "scaled.mp4", size=32)
    assert scaling.value.reason == ingest.value.reason == "corrupt"
