"""Exact frame index of a video stream, in presentation order, from packet timestamps.

From the demuxer index when it is complete and the codec never reorders frames (its
timestamps are DTS, equal to pts only then), else from one demux pass without decoding.
The header's frame count is never trusted: the index holds the frames really there.
For every frame it records the keyframe decoding must start from: the last keyframe in
decode order whose pts is <= the frame's pts, which stays exact with open GOPs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from av.container import InputContainer
from av.video.stream import VideoStream

from aura.video.errors import VideoDecodeError
from aura.video.probe import truncation


@dataclass
class FrameIndex:
    """Frames in presentation order, and the keyframe decoding must start from for each."""

    pts: np.ndarray  # int64, sorted: pts of presentation frame i
    start_key: np.ndarray  # per frame: number of the keyframe (decode order) to start from
    key_pts: list[int]  # per keyframe number: its pts
    key_dts: list[int | None]
    key_dec: list[int]  # per keyframe number: its decode-order position
    key_no: dict[int, int]  # keyframe pts -> keyframe number
    dec_pos: dict[int, int]  # pts of any packet -> decode-order position
    source: str  # 'index' | 'demux'

    @property
    def n_frames(self) -> int:
        return len(self.pts)


def _from_entries(stream: VideoStream) -> FrameIndex | None:
    """Use the demuxer index when complete and timestamps equal pts (no frame reordering)."""
    entries = stream.index_entries
    n = len(entries)
    if n < 2 or n != stream.frames or stream.codec_context.has_b_frames:
        return None
    dec: list[int] = []
    keys: list[int] = []
    shown: list[int] = []
    for e in entries:
        if e.size <= 0:
            continue
        if e.is_keyframe:
            keys.append(len(dec))
        dec.append(e.timestamp)
        if not e.is_discard:
            shown.append(e.timestamp)
    if not shown or not keys or keys[0] != 0:
        return None
    return _assemble(dec, keys, [dec[k] for k in keys], shown, "index")


def from_demux(path: Path, container: InputContainer, stream: VideoStream) -> FrameIndex | None:
    """Index by one demux pass (no decoding); None when some pts is missing."""
    dec: list[int] = []
    shown: list[int] = []
    keys: list[int] = []
    key_dts: list[int | None] = []
    end: int | None = None
    for packet in container.demux(stream):
        if packet.size == 0:
            continue  # flush packets carry no frame (FFmpeg skips AVI drop-frame chunks)
        if packet.is_corrupt:
            raise VideoDecodeError(path, "corrupt", f"packet {len(dec)} is truncated")
        if packet.pts is None:
            return None
        if packet.is_keyframe:
            keys.append(len(dec))
            key_dts.append(packet.dts)
        dec.append(packet.pts)
        if not packet.is_discard:
            shown.append(packet.pts)
        stop = packet.pts + (packet.duration or 0)
        end = stop if end is None else max(end, stop)
    end_s = float(end * stream.time_base) if end is not None and stream.time_base else None
    if why := truncation(container, stream, end_s):
        raise VideoDecodeError(path, "corrupt", why)
    if not shown:
        raise VideoDecodeError(path, "corrupt", "the video stream has no frames")
    if not keys or keys[0] != 0:
        keys.insert(0, 0)  # first packet not flagged as keyframe: start from it anyway
        key_dts.insert(0, None)
    return _assemble(dec, keys, key_dts, shown, "demux")


def _assemble(
    dec: list[int], keys: list[int], key_dts: list[int | None], shown: list[int], source: str
) -> FrameIndex:
    pts = np.sort(np.asarray(shown, dtype=np.int64))
    key_pts = [dec[k] for k in keys]
    # Start keyframe of a frame = last keyframe in decode order with pts <= frame pts; a
    # running max keeps the search valid should keyframe pts ever go backwards.
    kp = np.maximum.accumulate(np.asarray(key_pts, dtype=np.int64))
    start = np.clip(np.searchsorted(kp, pts, side="right") - 1, 0, len(kp) - 1)
    return FrameIndex(
        pts=pts,
        start_key=start,
        key_pts=key_pts,
        key_dts=key_dts,
        key_dec=keys,
        key_no={p: i for i, p in enumerate(key_pts)},
        dec_pos={p: i for i, p in enumerate(dec)},
        source=source,
    )


def build_index(
    path: str | Path, container: InputContainer, stream: VideoStream
) -> FrameIndex | None:
    """Exact frame index of ``stream``; None when timestamps are missing (decode sequentially)."""
    index = _from_entries(stream)
    if index is not None:
        return index
    # The caller seeks before decoding, so the demux pass needs no rewind here.
    return from_demux(Path(path), container, stream)
