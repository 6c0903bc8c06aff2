"""Fast, strict probing of a video file: metadata plus a cheap decodability check.

Every failure is a :class:`VideoDecodeError` whose ``reason`` says what is wrong:
``missing``, ``empty``, ``unreadable``, ``not_video`` or ``corrupt``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import av
from av.container import InputContainer
from av.video.stream import VideoStream

from aura.video.errors import VideoDecodeError

#: FFmpeg demuxers that read a single still image; such a file is not a video.
_IMAGE_DEMUXERS = ("image2", "_pipe")
_IMAGE_CODECS = {"png", "mjpeg", "bmp", "tiff", "webp", "jpeg2000", "jpegls", "qoi", "ppm", "pgm"}


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe` learns about a video.

    ``width``/``height`` are the coded size, before rotation. ``rotation`` is the display
    rotation in degrees counter-clockwise, one of 0/90/180/270: FFmpeg's display-matrix
    angle (``av_display_rotation_get``, range [-180, 180]) taken modulo 360, so the upright
    picture is ``np.rot90(coded, rotation // 90)``. A phone portrait clip tagged with the
    legacy ``rotate=90`` (clockwise) reads as 270. ``n_frames_source`` tells where
    ``n_frames`` came from: ``header`` (container frame count), ``index`` (demuxer index)
    or ``demux`` (packets counted). ``container`` is FFmpeg's demuxer name.
    """

    path: str
    size_bytes: int
    width: int
    height: int
    rotation: int
    fps: float
    n_frames: int
    n_frames_source: str
    duration_s: float
    codec: str
    bit_rate: int | None
    pix_fmt: str
    has_audio: bool
    container: str


def known_signature(head: bytes) -> bool:
    """True when ``head`` (the first bytes of a file) starts like a video container."""
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot"):
        return True  # ISO BMFF / QuickTime
    if head[:4] == b"RIFF":
        return head[8:12] == b"AVI "
    if head[:3] == b"\x00\x00\x01" and head[3:4] in (b"\xba", b"\xb3"):
        return True  # MPEG program / elementary stream
    if len(head) > 188 and head[0] == 0x47 and head[188] == 0x47:
        return True  # MPEG-TS
    return head.startswith((b"\x1a\x45\xdf\xa3", b"FLV", b"OggS", b"\x30\x26\xb2\x75", b"DKIF"))


def rotation_of(angle: float | int | None) -> int:
    """FFmpeg's counter-clockwise display angle (may be negative) -> one of 0/90/180/270."""
    if not angle:
        return 0
    return int(round(float(angle) / 90.0)) % 4 * 90


def open_video(path: str | Path) -> tuple[InputContainer, VideoStream]:
    """Open ``path`` and return its container and first video stream, or raise a reasoned error."""
    p = Path(path)
    try:
        size = p.stat().st_size
        with open(p, "rb") as fh:
            head = fh.read(512)
    except FileNotFoundError:
        raise VideoDecodeError(p, "missing", "no such file") from None
    except OSError as e:
        raise VideoDecodeError(p, "unreadable", f"{type(e).__name__}: {e.strerror or e}") from None
    if size == 0:
        raise VideoDecodeError(p, "empty", "file is 0 bytes")
    try:
        container = av.open(str(p), metadata_errors="ignore")
    except av.FFmpegError as e:
        reason = "corrupt" if known_signature(head) else "not_video"
        raise VideoDecodeError(p, reason, f"FFmpeg cannot open it: {e}") from None
    except OSError as e:
        raise VideoDecodeError(p, "unreadable", f"{type(e).__name__}: {e}") from None
    try:
        fmt = container.format.name
        if not container.streams.video:
            kinds = sorted({s.type for s in container.streams}) or ["none"]
            raise VideoDecodeError(p, "not_video", f"no video stream (streams: {', '.join(kinds)})")
        stream = container.streams.video[0]
        if fmt == _IMAGE_DEMUXERS[0] or fmt.endswith(_IMAGE_DEMUXERS[1]):
            raise VideoDecodeError(p, "not_video", f"a still image ({fmt}), not a video")
        if stream.codec_context is None:
            raise VideoDecodeError(p, "corrupt", f"no decoder for codec of stream 0 ({fmt})")
    except BaseException:
        container.close()
        raise
    return container, stream


def truncation(
    container: InputContainer,
    stream: VideoStream,
    n_packets: int,
    end_s: float | None,
) -> str | None:
    """Why a fully demuxed stream looks truncated, or None.

    ``n_packets`` counts packets with data or a timestamp, ``end_s`` is the end of the last.
    The header frame count (MP4, AVI) must be reached; for containers with only a
    duration (Matroska/WebM) the video must reach it, loosely when audio may be longer.
    """
    header = stream.frames or 0
    if header > 0 and n_packets < header:
        return f"truncated: header declares {header} frames, only {n_packets} present"
    if header == 0 and container.duration and end_s is not None:
        total = container.duration / 1e6
        slack = max(1.0, 0.25 * total) if container.streams.audio else 0.5
        if end_s + slack < total:
            return f"truncated: video stops at {end_s:.2f}s of {total:.2f}s"
    return None


def _index_count(stream: VideoStream) -> int:
    """Frames in the demuxer index when it looks complete (not just keyframe cues), else 0."""
    entries = stream.index_entries
    n = len(entries)
    if n < 2:
        return 0
    kept = [e for e in entries if not e.is_discard and e.size > 0]
    if stream.frames:
        return len(kept) if n == stream.frames else 0
    return len(kept) if any(not e.is_keyframe for e in kept) else 0


@dataclass
class _Demuxed:
    shown: int = 0  # frames that will be presented (not discarded by an edit list)
    packets: int = 0  # packets that count against the header's frame count
    last_pts: int | None = None
    end: int | None = None  # last pts + its duration
    corrupt: bool = False


def _demux_stats(container: InputContainer, stream: VideoStream) -> _Demuxed:
    """Count frames by demuxing without decoding."""
    d = _Demuxed()
    for packet in container.demux(stream):
        if packet.size == 0:
            # Zero-size packets with a timestamp (AVI "dropped frame" chunks) count
            # against the header's frame count; the final flush packets have none.
            d.packets += packet.pts is not None or packet.dts is not None
            continue
        d.corrupt |= packet.is_corrupt
        d.packets += 1
        d.shown += not packet.is_discard
        if packet.pts is not None:
            stop = packet.pts + (packet.duration or 0)
            d.end = stop if d.end is None else max(d.end, stop)
            d.last_pts = packet.pts if d.last_pts is None else max(d.last_pts, packet.pts)
    return d


def _first_frame(container: InputContainer, stream: VideoStream) -> av.VideoFrame | None:
    for packet in container.demux(stream):
        for frame in stream.codec_context.decode(packet if packet.size else None):
            return frame  # type: ignore[return-value]
    return None


def _check_end(container: InputContainer, stream: VideoStream, last_pts: int | None) -> bool:
    """Seek near the end, decode one frame and demux the rest: False if the tail is missing."""
    if last_pts is None:
        return True
    container.seek(last_pts, stream=stream, backward=True)
    got = False
    last_seen: int | None = None
    for packet in container.demux(stream):
        if packet.size == 0:
            continue
        if packet.is_corrupt:
            return False
        if packet.pts is not None:
            last_seen = packet.pts if last_seen is None else max(last_seen, packet.pts)
        if not got:
            got = bool(stream.codec_context.decode(packet))
    if not got:
        got = bool(stream.codec_context.decode(None))
    return got and last_seen is not None and last_seen >= last_pts


def probe(path: str | Path, *, verify: bool = True) -> VideoInfo:
    """Read a video's metadata; raise :class:`VideoDecodeError` if it is not a usable video.

    The first frame is always decoded (it carries rotation and pixel format). With
    ``verify`` a frame near the end is decoded too, so truncated files fail as ``corrupt``.
    """
    p = Path(path)
    container, stream = open_video(p)
    try:
        return _probe(p, container, stream, verify)
    except av.FFmpegError as e:
        raise VideoDecodeError(p, "corrupt", f"FFmpeg: {e}") from None
    finally:
        container.close()


def _probe(p: Path, container: InputContainer, stream: VideoStream, verify: bool) -> VideoInfo:
    ctx = stream.codec_context
    ctx.thread_type = "SLICE"  # one frame only: frame threads would just add latency
    tb = stream.time_base
    header = stream.frames or 0
    end_s: float | None = None
    last_pts = _last_pts(stream)
    if header > 0:
        n_frames, source = header, "header"
    elif n := _index_count(stream):
        n_frames, source = n, "index"
    else:
        d = _demux_stats(container, stream)
        n_frames, source, last_pts = d.shown, "demux", d.last_pts
        end_s = float(d.end * tb) if d.end is not None and tb is not None else None
        if d.corrupt:
            raise VideoDecodeError(p, "corrupt", "a packet is flagged corrupt (truncated data)")
        if why := truncation(container, stream, d.packets, end_s):
            raise VideoDecodeError(p, "corrupt", why)
        container.seek(stream.start_time or 0, stream=stream, backward=True)
    if n_frames == 0:
        raise VideoDecodeError(p, "corrupt", "the video stream has no frames")

    first = _first_frame(container, stream)
    if first is None:
        raise VideoDecodeError(p, "corrupt", "no frame could be decoded")
    if ctx.name in _IMAGE_CODECS and n_frames == 1:
        raise VideoDecodeError(p, "not_video", f"a single {ctx.name} image, not a video")

    if verify:
        ctx.flush_buffers()
        if not _check_end(container, stream, last_pts):
            raise VideoDecodeError(
                p, "corrupt", "truncated: the end of the stream cannot be decoded"
            )

    if stream.duration and tb is not None:
        duration = float(stream.duration * tb)
    elif end_s is not None:
        start = float(stream.start_time * tb) if stream.start_time and tb is not None else 0.0
        duration = end_s - start
    else:
        duration = (container.duration or 0) / 1e6
    rate = stream.average_rate or stream.guessed_rate
    fps = float(rate) if rate else (n_frames / duration if duration > 0 else 0.0)
    bit_rate = stream.bit_rate or container.bit_rate or None
    return VideoInfo(
        path=str(p),
        size_bytes=os.path.getsize(p),
        width=ctx.width or first.width,
        height=ctx.height or first.height,
        rotation=rotation_of(first.rotation),
        fps=fps,
        n_frames=n_frames,
        n_frames_source=source,
        duration_s=duration,
        codec=ctx.name,
        bit_rate=int(bit_rate) if bit_rate else None,
        pix_fmt=first.format.name,
        has_audio=bool(container.streams.audio),
        container=container.format.name,
    )


def _last_pts(stream: VideoStream) -> int | None:
    """Timestamp of the last frame from the index when it is complete, else from the duration."""
    if _index_count(stream):
        # Index timestamps may be DTS; the last DTS is <= the last PTS, which is what we want.
        return int(stream.index_entries[-1].timestamp)
    tb, rate = stream.time_base, stream.average_rate or stream.guessed_rate
    if not tb or not rate:
        return None
    frame = 1 / (rate * tb)  # one frame in time-base units
    if stream.duration:
        return int((stream.start_time or 0) + stream.duration - 1.5 * frame)
    return None
