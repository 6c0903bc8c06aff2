"""Exact uniform frame sampling: decode only the GOPs that hold the wanted frames.

With the exact frame index (see :mod:`aura.video.frame_index`) each target is decoded
from its start keyframe: seek there when it lies past what the decoder has been fed,
keep decoding otherwise. Non-reference frames that are not targets are skipped
(``skip_frame=NONREF``: nothing else refers to them, so output stays bit-identical to a
full decode, and ~half the frames of a typical x264 stream are never decoded). Only
targets are converted to RGB, straight to the output size, into a preallocated array.
With a :class:`~aura.video.crop.Crop` each target is converted at its native size and only the
crop window is copied into the output, so memory holds the T crops plus one decoded frame.

Frames above ``max_pixels`` are refused (``too_large``): by the coded size before any
decoding, and again per decoded frame, before anything is allocated for it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from av.container import InputContainer
from av.video.reformatter import VideoReformatter
from av.video.stream import VideoStream

from aura.video.crop import Crop, CropBox, crop_box
from aura.video.errors import VideoDecodeError
from aura.video.frame_index import FrameIndex, build_index, from_demux
from aura.video.letterbox import letterbox_geometry
from aura.video.limits import MAX_PIXELS, check_pixels
from aura.video.probe import open_video, rotation_of
from aura.video.threads import configure_threads

#: swscale interpolation when scaling; without scaling the default keeps to_ndarray's output.
_SCALE_INTERP = "AREA"
#: Skip non-reference, non-target frames (bit-identical output; see the module docstring).
_SKIP_NONREF = True


def sample_indices(n_frames: int, num_frames: int) -> np.ndarray:
    """Center-of-segment uniform indices ``floor((i + 0.5) * n / T)``.

    With fewer frames than asked (``n < T``) frames repeat in order; this is the padding rule.
    """
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}")
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    i = np.arange(num_frames, dtype=np.int64)
    return (2 * i + 1) * n_frames // (2 * num_frames)


def run_indices(n_frames: int, num_frames: int, run: int = 4) -> np.ndarray:
    """``num_frames`` frame indices as ``ceil(num_frames / run)`` runs of ``run`` consecutive
    frames, the runs spread uniformly over ``n_frames`` (sorted, distinct; all frames when
    ``n_frames <= num_frames``).

    The feature stages sample this way: temporal traces that live between neighbouring frames
    (an interpolated frame is the mean of its neighbours; fresh sensor noise per frame) are
    invisible in uniformly spaced samples several frames apart.
    """
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}")
    if num_frames < 1 or run < 1:
        raise ValueError(f"num_frames and run must be >= 1, got {num_frames} and {run}")
    if n_frames <= num_frames:
        return np.arange(n_frames, dtype=np.int64)
    run = min(run, num_frames)
    starts = np.linspace(0, n_frames - run, -(-num_frames // run)).round().astype(np.int64)
    runs = (starts[:, None] + np.arange(run, dtype=np.int64)).reshape(-1)
    return np.unique(runs)[:num_frames]


@dataclass
class Clip:
    """Sampled frames of one video."""

    frames: np.ndarray  # (T, H, W, 3) uint8 RGB, upright
    indices: np.ndarray  # frame index (presentation order) of each output frame
    pts_s: np.ndarray  # presentation time in seconds of each output frame
    n_frames: int  # frames in the video, exact
    padding: tuple[int, int, int, int] | None  # (top, bottom, left, right): letterbox/crop pad
    crop: CropBox | None = None  # where the crop lies in the upright frame (crop sampling only)


class _IndexMismatch(Exception):
    """Packets or frames carry timestamps that the demuxer index did not list."""


def _rewind(container: InputContainer, stream: VideoStream) -> bool:
    """Seek back to the first packet; False if the demuxer refuses."""
    for ts in (min(stream.start_time or 0, 0), stream.start_time or 0, 0):
        try:
            container.seek(ts, stream=stream, backward=True)
            return True
        except av.FFmpegError:
            continue
    return False


def _pixels(rgb: av.VideoFrame) -> np.ndarray:
    """(H, W, 3) view of an rgb24 frame's plane (rows may be padded: line_size >= 3 W)."""
    plane = rgb.planes[0]
    buf = np.frombuffer(plane, np.uint8).reshape(rgb.height, plane.line_size)
    return buf[:, : rgb.width * 3].reshape(rgb.height, rgb.width, 3)


class _Converter:
    """Decoded frame -> upright RGB (optionally letterboxed or cropped), written into an
    output slot.

    Every frame is checked against ``max_pixels`` first (a stream may grow mid-way). The crop
    window is fixed by the first frame's upright size and kept for the whole clip.
    """

    def __init__(
        self, size: int | None, path: Path, max_pixels: int | None, crop: Crop | None = None
    ) -> None:
        if size is not None and crop is not None:
            raise ValueError("letterbox size and crop exclude each other: give one")
        self.size = size
        self.crop = crop
        self.path = path
        self.max_pixels = max_pixels
        self.reformatter = VideoReformatter()  # keeps its SwsContext between frames
        self.geometry: tuple[int, ...] | None = None
        self.box: CropBox | None = None
        self.padding: tuple[int, int, int, int] | None = None
        self.shape: tuple[int, int, int] | None = None

    def setup(self, frame: av.VideoFrame) -> tuple[int, int, int]:
        check_pixels(self.path, frame.width, frame.height, self.max_pixels)
        rot = rotation_of(frame.rotation)
        w, h = (frame.height, frame.width) if rot in (90, 270) else (frame.width, frame.height)
        if self.crop is not None:
            self.box = crop_box(w, h, self.crop)
            self.padding = self.box.padding
            self.shape = (self.crop.size, self.crop.size, 3)
        elif self.size is None:
            self.shape = (h, w, 3)
        else:
            nw, nh, top, bottom, left, right = letterbox_geometry(w, h, self.size)
            self.geometry = (nw, nh, top, left)
            self.padding = (top, bottom, left, right)
            self.shape = (self.size, self.size, 3)
        return self.shape

    def __call__(self, frame: av.VideoFrame, out: np.ndarray) -> None:
        if self.shape is None:
            self.setup(frame)
        else:
            check_pixels(self.path, frame.width, frame.height, self.max_pixels)
        k = rotation_of(frame.rotation) // 90
        if self.box is not None:
            self._crop(frame, k, out)
            return
        if self.geometry is None:
            ow, oh = (out.shape[0], out.shape[1]) if k % 2 else (out.shape[1], out.shape[0])
            rgb = self.reformatter.reformat(frame, width=ow, height=oh, format="rgb24")
            dst = out
        else:
            nw, nh, top, left = self.geometry
            ow, oh = (nh, nw) if k % 2 else (nw, nh)
            rgb = self.reformatter.reformat(
                frame, width=ow, height=oh, format="rgb24", interpolation=_SCALE_INTERP
            )
            dst = out[top : top + nh, left : left + nw]
        img = _pixels(rgb)
        dst[...] = np.rot90(img, k) if k else img

    def _crop(self, frame: av.VideoFrame, k: int, out: np.ndarray) -> None:
        """Copy the crop window of the upright frame (native size, no scaling) into ``out``.

        The window is cut from views of the one converted frame: only ``S x S`` pixels are
        copied. A later frame smaller than the first one gets the part of the window it has.
        """
        b = self.box
        assert b is not None
        img = _pixels(self.reformatter.reformat(frame, format="rgb24"))
        upright = np.rot90(img, k) if k else img  # a view
        window = upright[b.top : b.top + b.height, b.left : b.left + b.width]
        h, w = window.shape[:2]
        out[b.pad_top : b.pad_top + h, b.pad_left : b.pad_left + w] = window


def sample_frames(
    path: str | Path,
    num_frames: int = 16,
    *,
    size: int | None = None,
    indices: Sequence[int] | None = None,
    threads: int = 0,
    max_pixels: int | None = MAX_PIXELS,
    crop: Crop | None = None,
) -> Clip:
    """Decode ``num_frames`` uniformly spaced frames (or the given ``indices``) exactly.

    ``size`` letterboxes each frame to ``size`` x ``size`` (longest side = size). ``crop``
    instead copies one :class:`~aura.video.crop.Crop` window, at native resolution and at
    the same place in every frame, out of each frame as it is decoded (``Clip.crop`` says
    where; a side shorter than the crop is zero-padded, centred, ``Clip.padding``). Frames are
    upright (display rotation applied; the crop is placed in the upright frame). ``threads`` = 0 picks decoder threads from the
    slice count and frame size (see :func:`aura.video.threads.configure_threads`). Raises
    :class:`VideoDecodeError` (``too_large`` for frames above ``max_pixels``; None: no
    cap). The frame count is the packets really there, whatever the header says. If a
    stream is broken so that a target frame never comes out of the decoder, the next
    decoded frame stands in for it.
    """
    p = Path(path)
    if size is not None and crop is not None:
        raise ValueError("sample_frames takes a letterbox size or a crop, not both")
    want = _Want(num_frames, indices, size, threads, max_pixels, crop)
    container, stream = open_video(p, max_pixels=max_pixels)
    try:
        try:
            index = build_index(p, container, stream)
            if index is None:
                return _sample_sequential(p, container, stream, want)
            try:
                return _sample_seek(p, container, stream, index, want)
            except _IndexMismatch:
                # The demuxer index did not hold presentation timestamps after all.
                container.close()
                container, stream = open_video(p, max_pixels=max_pixels)
                index = from_demux(p, container, stream)
                if index is None:
                    return _sample_sequential(p, container, stream, want)
                return _sample_seek(p, container, stream, index, want)
        except av.FFmpegError as e:
            raise VideoDecodeError(p, "corrupt", f"FFmpeg: {e}") from None
    finally:
        container.close()


@dataclass(frozen=True)
class _Want:
    """What :func:`sample_frames` was asked for."""

    num_frames: int
    indices: Sequence[int] | None
    size: int | None
    threads: int
    max_pixels: int | None
    crop: Crop | None = None


def _targets(n: int, num_frames: int, indices: Sequence[int] | None) -> np.ndarray:
    if indices is None:
        return sample_indices(n, num_frames)
    idx = np.asarray(list(indices), dtype=np.int64)
    if idx.ndim != 1 or idx.size == 0:
        raise ValueError("indices must be a non-empty 1-D sequence")
    bad = idx[(idx < 0) | (idx >= n)]
    if bad.size:
        raise ValueError(f"indices out of range [0, {n}): {bad[:5].tolist()}")
    return idx


class _Collector:
    """Fills output slots for sorted distinct targets as decoded frames pass by."""

    def __init__(self, n_frames: int, want: _Want, path: Path) -> None:
        self.want = _targets(n_frames, want.num_frames, want.indices)
        # Not np.unique: its first call imports numpy.ma (~30 ms).
        self.uniq = np.asarray(sorted(set(self.want.tolist())), dtype=np.int64)
        self.conv = _Converter(want.size, path, want.max_pixels, want.crop)
        self.out: np.ndarray | None = None
        self.got_s = np.zeros(len(self.uniq), dtype=np.float64)
        self.done = 0

    @property
    def full(self) -> bool:
        return self.done >= len(self.uniq)

    def put(self, frame: av.VideoFrame, seconds: float) -> None:
        if self.out is None:
            shape = (len(self.uniq), *self.conv.setup(frame))
            # Letterbox borders must be 0; otherwise every pixel gets written.
            alloc = np.empty if self.conv.padding is None else np.zeros
            self.out = alloc(shape, dtype=np.uint8)
        self.conv(frame, self.out[self.done])
        self.got_s[self.done] = seconds
        self.done += 1

    def clip(self, p: Path, n_frames: int, error: Exception | None = None) -> Clip:
        if not self.full or self.out is None:
            why = f"decoded only {self.done} of {len(self.uniq)} distinct target frames"
            raise VideoDecodeError(p, "corrupt", f"{why}; FFmpeg: {error}" if error else why)
        same = len(self.uniq) == len(self.want) and np.array_equal(self.uniq, self.want)
        slot = np.searchsorted(self.uniq, self.want)
        return Clip(
            frames=self.out if same else self.out[slot],
            indices=self.want,
            pts_s=self.got_s[slot],
            n_frames=n_frames,
            padding=self.conv.padding,
            crop=self.conv.box,
        )


def _sample_seek(
    p: Path,
    container: InputContainer,
    stream: VideoStream,
    index: FrameIndex,
    want: _Want,
) -> Clip:
    col = _Collector(index.n_frames, want, p)
    tpts = index.pts[col.uniq]
    tkey = index.start_key[col.uniq]
    target_pts = set(tpts.tolist())
    check = index.source == "index"
    tb = float(stream.time_base) if stream.time_base else 0.0
    ctx = stream.codec_context
    configured = False
    fed_key = -1  # number of the last keyframe fed to the decoder
    packets: Iterator[av.Packet] | None = None
    skipping = False

    def take(frame: av.VideoFrame) -> None:
        if frame.pts is None or (check and frame.pts not in index.dec_pos):
            raise _IndexMismatch
        # A frame past an unfilled target stands in for it (the target never came out).
        while not col.full and tpts[col.done] <= frame.pts:
            col.put(frame, frame.pts * tb)

    error: av.FFmpegError | None = None
    while not col.full:
        key = int(tkey[col.done])
        if packets is None or key > fed_key:
            packets = _seek_to_key(container, stream, index, key)
            fed_key = key
        packet = next(packets, None) if packets is not None else None
        if packet is None:  # end of stream (or the keyframe is unreachable): drain and stop
            if not configured:
                break
            try:
                for frame in ctx.decode(None):
                    take(frame)
            except av.FFmpegError as e:
                error = e
            break
        if not configured:
            configure_threads(stream, want.threads, packet)
            configured = True
        if packet.is_keyframe:
            fed_key = max(fed_key, index.key_no.get(packet.pts, -1))  # type: ignore[arg-type]
        # Non-reference frames are never needed by others: skip those that are not targets.
        skip = _SKIP_NONREF and packet.pts not in target_pts
        if skip != skipping:
            ctx.skip_frame = "NONREF" if skip else "DEFAULT"
            skipping = skip
        try:
            frames = ctx.decode(packet)
        except av.FFmpegError as e:  # a damaged packet: go on, as FFmpeg's own CLI does
            error = e
            continue
        for frame in frames:
            take(frame)
    return col.clip(p, index.n_frames, error)


def _seek_to_key(
    container: InputContainer, stream: VideoStream, index: FrameIndex, key: int
) -> Iterator[av.Packet] | None:
    """Packets from keyframe number ``key`` on, checked by position in decode order."""
    want = index.key_dec[key]
    tries: list[int | None] = [index.key_pts[key]]
    dts = index.key_dts[key]
    if dts is not None:
        tries.append(dts)
    tries += index.key_pts[max(0, key - 2) : key][::-1]
    tries.append(None)  # from the very start
    for ts in tries:
        try:
            if ts is None:
                _rewind(container, stream)
            else:
                container.seek(ts, stream=stream, backward=True)
        except av.FFmpegError:
            continue
        it = container.demux(stream)
        for packet in it:
            if packet.size == 0 or packet.pts is None:
                continue
            pos = index.dec_pos.get(packet.pts, -1)
            if index.source == "index" and (
                pos < 0 or packet.is_keyframe != (packet.pts in index.key_no)
            ):
                raise _IndexMismatch  # packet pts are not the index timestamps after all
            if pos < want:
                continue  # landed early: skip packets up to the keyframe without decoding
            if pos == want:
                return _chain(packet, it)
            break  # landed past it: try an earlier timestamp
    return None


def _chain(first: av.Packet, rest: Iterator[av.Packet]) -> Iterator[av.Packet]:
    yield first
    for packet in rest:
        if packet.size:
            yield packet


def _sample_sequential(
    p: Path,
    container: InputContainer,
    stream: VideoStream,
    want: _Want,
) -> Clip:
    """Fallback when packets lack timestamps: count packets, then decode from the start."""
    container.close()  # the failed index pass consumed it; raw streams may not seek
    container, stream = open_video(p, max_pixels=want.max_pixels)
    try:
        n = sum(1 for pk in container.demux(stream) if pk.size and not pk.is_discard)
    finally:
        container.close()
    if n == 0:
        raise VideoDecodeError(p, "corrupt", "the video stream has no frames")
    col = _Collector(n, want, p)
    container, stream = open_video(p, max_pixels=want.max_pixels)
    rate = stream.average_rate or stream.guessed_rate
    tb = float(stream.time_base) if stream.time_base else 0.0
    error: Exception | None = None
    damaged: list[Exception] = []
    try:
        for i, frame in enumerate(_decode_all(container, stream, want.threads, damaged)):
            seconds = (
                frame.pts * tb if frame.pts is not None else (i / rate if rate else float("nan"))
            )
            while not col.full and col.uniq[col.done] <= i:
                col.put(frame, float(seconds))
            if col.full:
                break
    except av.FFmpegError as e:
        error = e
    finally:
        container.close()
    return col.clip(p, n, error or (damaged[0] if damaged else None))


def _decode_all(
    container: InputContainer, stream: VideoStream, threads: int, damaged: list[Exception]
) -> Iterator[av.VideoFrame]:
    """Every frame in decode output order; a packet the decoder rejects is skipped and
    appended to ``damaged`` (FFmpeg's own CLI goes on the same way, as does the sampler)."""
    configured = False
    for packet in container.demux(stream):
        if not configured:
            configure_threads(stream, threads, packet if packet.size else None)
            configured = True
        try:
            frames = stream.codec_context.decode(packet if packet.size else None)
        except av.FFmpegError as e:
            damaged.append(e)
            continue
        yield from frames


def iter_frames(
    path: str | Path,
    *,
    size: int | None = None,
    threads: int = 0,
    max_pixels: int | None = MAX_PIXELS,
) -> Iterator[np.ndarray]:
    """Yield every frame in presentation order (upright, optionally letterboxed) one at a time.

    Raises :class:`VideoDecodeError` (``too_large`` for frames above ``max_pixels``).
    """
    p = Path(path)
    container, stream = open_video(p, max_pixels=max_pixels)
    conv = _Converter(size, p, max_pixels)
    damaged: list[Exception] = []
    n = 0
    try:
        for frame in _decode_all(container, stream, threads, damaged):
            out = np.zeros(conv.shape or conv.setup(frame), dtype=np.uint8)
            conv(frame, out)
            n += 1
            yield out
    except av.FFmpegError as e:
        raise VideoDecodeError(p, "corrupt", f"FFmpeg: {e}") from None
    finally:
        container.close()
    if n == 0:
        why = f"; FFmpeg: {damaged[0]}" if damaged else ""
        raise VideoDecodeError(p, "corrupt", f"no frame could be decoded{why}")
