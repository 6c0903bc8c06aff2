"""Fast, strict probing of a video file: metadata plus a cheap decodability check.

Every failure is a :class:`VideoDecodeError` whose ``reason`` says what is wrong:
``missing``, ``empty``, ``unreadable``, ``not_video``, ``too_large`` or ``corrupt``.

Frame counts in container headers are claims, not facts: AVI drop frames (zero-length
chunks), stream cuts and hostile edits make them disagree with the stream. The count used
everywhere is the packets really there (from a complete demuxer index, else one demux pass
without decoding); the header's is kept beside it. A file is ``corrupt`` only when it cannot
be decoded: a packet flagged corrupt, frame data past the end of the file, a tail that does
not decode, or (without a header count) video that stops well before the stated duration.
"""

from __future__ import annotations

import math
import os
import stat
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.container import InputContainer
from av.index import IndexEntry
from av.video.stream import VideoStream

from aura.video.errors import VideoDecodeError
from aura.video.limits import MAX_PIXELS, check_pixels

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
    legacy ``rotate=90`` (clockwise) reads as 270. ``n_frames`` is the frames really in the
    stream; ``n_frames_source`` tells how they were counted: ``index`` (a complete demuxer
    index) or ``demux`` (packets counted, nothing decoded). ``n_frames_header`` is what the
    container header claims (None when it has no count); it may differ from ``n_frames``
    and is never used to size work. ``container`` is FFmpeg's demuxer name.
    """

    path: str
    size_bytes: int
    width: int
    height: int
    rotation: int
    fps: float
    n_frames: int
    n_frames_source: str
    n_frames_header: int | None
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


_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def regular_size(path: Path) -> int:
    """Size of ``path`` in bytes; refuses anything but a regular file before opening it.

    A FIFO would block the open forever and a device never ends, so the kind of file is
    decided by ``os.stat`` (symlinks followed) alone.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise VideoDecodeError(path, "missing", "no such file") from None
    except OSError as e:
        raise VideoDecodeError(
            path, "unreadable", f"{type(e).__name__}: {e.strerror or e}"
        ) from None
    if not stat.S_ISREG(st.st_mode):
        kind = next((name for test, name in _FILE_KINDS if test(st.st_mode)), "special")
        raise VideoDecodeError(path, "not_video", f"not a regular file ({kind})")
    return st.st_size


def open_video(
    path: str | Path, *, max_pixels: int | None = MAX_PIXELS
) -> tuple[InputContainer, VideoStream]:
    """Open ``path`` and return its container and first video stream, or raise a reasoned error.

    Only regular files are opened. A stream whose coded size is above ``max_pixels``
    (None: no cap) is refused as ``too_large`` before anything is decoded.
    """
    p = Path(path)
    size = regular_size(p)
    if size == 0:
        raise VideoDecodeError(p, "empty", "file is 0 bytes")
    try:
        with open(p, "rb") as fh:
            head = fh.read(512)
    except FileNotFoundError:
        raise VideoDecodeError(p, "missing", "no such file") from None
    except OSError as e:
        raise VideoDecodeError(p, "unreadable", f"{type(e).__name__}: {e.strerror or e}") from None
    # Codec options for the frames FFmpeg decodes while opening (avformat_find_stream_info):
    # libavcodec refuses to allocate a picture above max_pixels.
    options = {"max_pixels": str(max_pixels)} if max_pixels is not None else {}
    try:
        container = av.open(str(p), metadata_errors="ignore", options=options)
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
        ctx = stream.codec_context
        check_pixels(p, ctx.width or 0, ctx.height or 0, max_pixels)
    except BaseException:
        container.close()
        raise
    return container, stream


def truncation(container: InputContainer, stream: VideoStream, end_s: float | None) -> str | None:
    """Why a fully demuxed stream looks truncated, or None.

    ``end_s`` is the end of the last packet. Only containers without a frame count
    (Matroska/WebM) are judged, by their stated duration: the video must reach it, loosely
    when audio may be longer. A header frame count is never compared with the packets:
    valid files miscount (AVI drop frames, ``-c copy`` cuts), and truncated MP4/AVI files
    are caught by their data instead (past the end of the file, or packets flagged corrupt).
    """
    if (stream.frames or 0) > 0 or not container.duration or end_s is None:
        return None
    total = container.duration / 1e6
    slack = max(1.0, 0.25 * total) if container.streams.audio else 0.5
    if end_s + slack < total:
        return f"truncated: video stops at {end_s:.2f}s of {total:.2f}s"
    return None


def complete_index(stream: VideoStream) -> list[IndexEntry] | None:
    """The demuxer index's frame entries when it lists every packet, else None.

    The index is complete when its length matches the header's frame count (two sources
    agreeing; MP4 sample tables, AVI idx1) or, without a count, when it holds more than
    keyframe cues. Zero-size and discarded entries carry no shown frame and are dropped.
    """
    entries = stream.index_entries
    n = len(entries)
    if n < 2:
        return None
    kept = [e for e in entries if not e.is_discard and e.size > 0]
    if stream.frames:
        return kept if n == stream.frames and kept else None
    return kept if any(not e.is_keyframe for e in kept) else None


@dataclass
class _Counted:
    """Frames really in a stream, and the span of their timestamps."""

    n: int
    source: str  # 'index' | 'demux'
    first_ts: int | None = None
    last_ts: int | None = None  # for 'index' a DTS, <= the last PTS
    end_ts: int | None = None  # 'demux': last pts + its duration


def _count_index(p: Path, kept: list[IndexEntry], size_bytes: int, verify: bool) -> _Counted:
    if verify:
        end = max((e.pos + e.size for e in kept if e.pos >= 0), default=0)
        if end > size_bytes:
            raise VideoDecodeError(
                p,
                "corrupt",
                f"truncated: frame data runs to byte {end}, past the end of the file "
                f"({size_bytes} bytes)",
            )
    ts = [e.timestamp for e in kept]
    return _Counted(len(kept), "index", min(ts), max(ts))


def _count_demux(p: Path, max_pixels: int | None) -> _Counted:
    """Count shown frames by demuxing without decoding; raise if a packet is damaged.

    A container of its own, so the caller's stays at the start: raw streams cannot seek back.
    """
    c = _Counted(0, "demux")
    container, stream = open_video(p, max_pixels=max_pixels)
    with container:
        _demux_count(p, container, stream, c)
    return c


def _demux_count(p: Path, container: InputContainer, stream: VideoStream, c: _Counted) -> None:
    for packet in container.demux(stream):
        if packet.size == 0:
            continue  # flush packets (FFmpeg skips AVI drop-frame chunks itself)
        if packet.is_corrupt:
            raise VideoDecodeError(p, "corrupt", "a packet is flagged corrupt (truncated data)")
        c.n += not packet.is_discard
        if packet.pts is not None:
            stop = packet.pts + (packet.duration or 0)
            c.end_ts = stop if c.end_ts is None else max(c.end_ts, stop)
            c.last_ts = packet.pts if c.last_ts is None else max(c.last_ts, packet.pts)
            c.first_ts = packet.pts if c.first_ts is None else min(c.first_ts, packet.pts)


def _first_frame(container: InputContainer, stream: VideoStream) -> av.VideoFrame | None:
    for packet in container.demux(stream):
        for frame in stream.codec_context.decode(packet if packet.size else None):
            return frame  # type: ignore[return-value]
    return None


def _check_end(
    p: Path,
    container: InputContainer,
    stream: VideoStream,
    last_pts: int | None,
    max_pixels: int | None,
) -> bool:
    """Seek near the end, decode one frame and demux the rest: False if the tail is missing.

    The decoded frame is held to ``max_pixels`` too (a stream may grow after its header).
    """
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
            got = _any_frame(p, stream.codec_context.decode(packet), max_pixels)
    if not got:
        got = _any_frame(p, stream.codec_context.decode(None), max_pixels)
    return got and last_seen is not None and last_seen >= last_pts


def _any_frame(p: Path, frames: list[av.VideoFrame], max_pixels: int | None) -> bool:
    for frame in frames:
        check_pixels(p, frame.width, frame.height, max_pixels)
    return bool(frames)


def probe(
    path: str | Path, *, verify: bool = True, max_pixels: int | None = MAX_PIXELS
) -> VideoInfo:
    """Read a video's metadata; raise :class:`VideoDecodeError` if it is not a usable video.

    Frames are counted from the packets, never taken from the header. The first frame is
    always decoded (it carries rotation and pixel format). With ``verify`` a frame near the
    end is decoded too and the index is checked against the file size, so truncated files
    fail as ``corrupt``. A coded size above ``max_pixels`` fails as ``too_large`` before
    anything is decoded.
    """
    p = Path(path)
    container, stream = open_video(p, max_pixels=max_pixels)
    try:
        return _probe(p, container, stream, verify, max_pixels)
    except av.FFmpegError as e:
        raise VideoDecodeError(p, "corrupt", f"FFmpeg: {e}") from None
    finally:
        container.close()


def _probe(
    p: Path,
    container: InputContainer,
    stream: VideoStream,
    verify: bool,
    max_pixels: int | None,
) -> VideoInfo:
    ctx = stream.codec_context
    ctx.thread_type = "SLICE"  # one frame only: frame threads would just add latency
    tb = stream.time_base
    size_bytes = os.path.getsize(p)
    rate = stream.average_rate or stream.guessed_rate
    kept = complete_index(stream)
    if kept is not None:
        count = _count_index(p, kept, size_bytes, verify)
        span_s = _seconds(count.last_ts - count.first_ts, tb)  # type: ignore[operator]
        measured_s = span_s + 1 / float(rate) if span_s is not None and rate else span_s
    else:
        count = _count_demux(p, max_pixels)
        end_s = _seconds(count.end_ts, tb)
        if why := truncation(container, stream, end_s):
            raise VideoDecodeError(p, "corrupt", why)
        start = _seconds(stream.start_time, tb) or 0.0
        measured_s = end_s - start if end_s is not None else None
    if count.n == 0:
        raise VideoDecodeError(p, "corrupt", "the video stream has no frames")

    first = _first_frame(container, stream)
    if first is None:
        raise VideoDecodeError(p, "corrupt", "no frame could be decoded")
    check_pixels(p, first.width, first.height, max_pixels)
    if ctx.name in _IMAGE_CODECS and count.n == 1:
        raise VideoDecodeError(p, "not_video", f"a single {ctx.name} image, not a video")

    if verify:
        ctx.flush_buffers()
        if not _check_end(p, container, stream, count.last_ts, max_pixels):
            raise VideoDecodeError(
                p, "corrupt", "truncated: the end of the stream cannot be decoded"
            )

    # The header's duration may count frames that are not there (drop frames, lies):
    # the shorter of it and the span of the frames counted.
    stated = [
        s
        for s in (_seconds(stream.duration, tb), measured_s)
        if s is not None and math.isfinite(s) and s > 0
    ]
    duration = min(stated) if stated else (container.duration or 0) / 1e6
    if duration <= 0 and rate:  # raw streams: no timestamps at all
        duration = count.n / float(rate)
    fps = float(rate) if rate else (count.n / duration if duration > 0 else 0.0)
    bit_rate = stream.bit_rate or container.bit_rate or None
    return VideoInfo(
        path=str(p),
        size_bytes=size_bytes,
        width=ctx.width or first.width,
        height=ctx.height or first.height,
        rotation=rotation_of(first.rotation),
        fps=fps,
        n_frames=count.n,
        n_frames_source=count.source,
        n_frames_header=int(stream.frames) if stream.frames else None,
        duration_s=duration,
        codec=ctx.name,
        bit_rate=int(bit_rate) if bit_rate else None,
        pix_fmt=first.format.name,
        has_audio=bool(container.streams.audio),
        container=container.format.name,
    )


def _seconds(ts: int | None, tb: Fraction | None) -> float | None:
    """``ts`` in seconds, or None when either is unknown."""
    return float(ts * tb) if ts is not None and tb else None
