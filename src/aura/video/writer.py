"""Streaming video writer on PyAV: frames go to the encoder one by one, never all in memory."""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np

from aura.video.errors import VideoDecodeError

#: Short codec names accepted everywhere in AURA, mapped to the FFmpeg encoder PyAV uses.
ENCODERS = {"h264": "libx264", "mpeg4": "mpeg4", "vp9": "libvpx-vp9"}
#: Container chosen from the file suffix; codecs a container cannot hold are refused early.
CONTAINER_CODECS = {
    ".mp4": {"h264", "mpeg4", "vp9"},
    ".mov": {"h264", "mpeg4"},
    ".mkv": {"h264", "mpeg4", "vp9"},
    ".webm": {"vp9"},
    ".avi": {"mpeg4", "h264"},
}


class VideoWriter:
    """Encode RGB uint8 frames (H, W, 3) to a video file.

    ``gop`` sets the keyframe interval, ``rotation`` writes display-matrix rotation
    metadata (degrees, counter-clockwise as FFmpeg reports it), ``pts`` passed to
    :meth:`write` allows variable frame rate (in units of ``time_base``).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        width: int,
        height: int,
        fps: float = 25.0,
        codec: str = "h264",
        bit_rate: int | None = None,
        crf: int | None = None,
        gop: int | None = None,
        bframes: int | None = None,
        preset: str = "veryfast",
        rotation: int = 0,
        time_base: Fraction | None = None,
        options: dict[str, str] | None = None,
    ) -> None:
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if codec not in ENCODERS:
            raise ValueError(f"codec {codec!r} not in {sorted(ENCODERS)}")
        if suffix not in CONTAINER_CODECS or codec not in CONTAINER_CODECS[suffix]:
            raise ValueError(f"{self.path.name}: container {suffix!r} cannot hold {codec!r}")
        if width % 2 or height % 2:
            raise ValueError(
                f"{self.path.name}: width and height must be even, got {width}x{height}"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        rate = Fraction(fps).limit_denominator(1001)
        opts: dict[str, str] = {}
        if codec == "h264":
            opts["preset"] = preset
            # x264's macroblock-tree rate control reads uninitialised memory for widths that are
            # not a multiple of 64 (PyAV 18.1), so the same frames could encode differently.
            opts["x264-params"] = "sync-lookahead=0:mbtree=0"
            if crf is not None and bit_rate is None:
                opts["crf"] = str(crf)
            if bframes is not None:
                opts["bf"] = str(bframes)
        elif codec == "vp9":
            opts.update({"deadline": "realtime", "cpu-used": "8", "row-mt": "1"})
            if crf is not None and bit_rate is None:
                opts["crf"] = str(crf)
                opts["b"] = "0"
        opts.update(options or {})
        # bitexact: no random Matroska track UIDs or version strings, so outputs are reproducible.
        self._container = av.open(
            str(self.path), mode="w", container_options={"fflags": "+bitexact"}
        )
        try:
            stream = self._container.add_stream(ENCODERS[codec], rate=rate, options=opts)
            stream.width, stream.height = width, height
            stream.pix_fmt = "yuv420p"
            if time_base is not None:
                stream.time_base = time_base
                stream.codec_context.time_base = time_base
            if bit_rate is not None:
                stream.bit_rate = int(bit_rate)
            if gop is not None:
                stream.codec_context.gop_size = int(gop)
            if codec == "mpeg4" and bframes:
                stream.codec_context.max_b_frames = int(bframes)
            if rotation:
                stream.set_display_rotation(float(rotation))
        except Exception:
            self._container.close()
            raise
        self._stream = stream
        self.width, self.height = width, height
        self.frames_written = 0

    def write(self, frame: np.ndarray, pts: int | None = None) -> None:
        """Encode one RGB frame; ``pts`` (stream time base units) defaults to frame order."""
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(
                f"{self.path.name}: frame must be uint8 {(self.height, self.width, 3)}, "
                f"got {frame.dtype} {frame.shape}"
            )
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        if pts is not None:
            vf.pts = int(pts)
            vf.time_base = self._stream.codec_context.time_base
        for packet in self._stream.encode(vf):
            self._container.mux(packet)
        self.frames_written += 1

    def close(self) -> None:
        """Flush the encoder and close the file."""
        if self._container is None:
            return
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
        finally:
            self._container.close()
            self._container = None

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
        if exc_type is not None:
            self.path.unlink(missing_ok=True)


def write_video(
    path: str | Path,
    frames: Iterable[np.ndarray],
    *,
    fps: float = 25.0,
    codec: str = "h264",
    **kwargs: object,
) -> Path:
    """Write an iterable of RGB frames; the first frame fixes width and height."""
    it = iter(frames)
    try:
        first = next(it)
    except StopIteration:
        raise VideoDecodeError(path, "encode", "no frames to write") from None
    h, w = first.shape[:2]
    with VideoWriter(path, width=w, height=h, fps=fps, codec=codec, **kwargs) as writer:
        writer.write(first)
        for frame in it:
            writer.write(frame)
    return Path(path)
