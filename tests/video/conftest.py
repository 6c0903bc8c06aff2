"""Real, small video files written with aura.video.writer; frames carry their own index."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from aura.video.writer import VideoWriter, write_video

W, H = 160, 96
BITS = 8  # frame index coded as 8 black/white bands in the lower half
BAND = W // BITS


def coded_frame(i: int, w: int = W, h: int = H) -> np.ndarray:
    """An RGB frame whose index ``i`` (< 256) survives lossy coding.

    Lower half: 8 vertical bands, band b white iff bit b of ``i`` is set. Upper half: a
    moving texture so the encoder produces real P/B-frames.
    """
    f = np.zeros((h, w, 3), np.uint8)
    yy, xx = np.mgrid[0 : h // 2, 0:w]
    f[: h // 2, :, 0] = (xx * 3 + i * 5) % 256
    f[: h // 2, :, 1] = (yy * 5 + i * 3) % 256
    f[: h // 2, :, 2] = ((xx + yy + i * 7) % 64) * 4
    band = w // BITS
    for b in range(BITS):
        if (i >> b) & 1:
            f[h // 2 :, b * band : (b + 1) * band] = 255
    return f


def read_index(frame: np.ndarray) -> int:
    """Inverse of :func:`coded_frame` on a decoded (unrotated, unscaled) frame."""
    h, w = frame.shape[:2]
    band = w // BITS
    lower = frame[h // 2 + 6 : h - 6].mean(axis=(0, 2))
    return sum(1 << b for b in range(BITS) if lower[b * band + 4 : (b + 1) * band - 4].mean() > 127)


def full_decode(path: Path) -> list[np.ndarray]:
    """The reference: a plain sequential decode of every frame to RGB."""
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


@dataclass(frozen=True)
class Video:
    path: Path
    n: int
    fps: float
    codec: str
    pts_ms: tuple[int, ...] | None = None  # written timestamps (VFR clip only)


#: VFR: frame durations cycle through these (ms), so the rate really varies.
VFR_STEPS_MS = (20, 33, 50, 41)


def _vfr(path: Path, n: int) -> Video:
    pts, t = [], 0
    with VideoWriter(
        path, width=W, height=H, fps=30, gop=20, bframes=2, time_base=Fraction(1, 1000)
    ) as w:
        for i in range(n):
            w.write(coded_frame(i), pts=t)
            pts.append(t)
            t += VFR_STEPS_MS[i % len(VFR_STEPS_MS)]
    return Video(path, n, 0.0, "h264", tuple(pts))


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Video]:
    """One clip per codec/container/GOP structure the sampler must handle exactly."""
    d = tmp_path_factory.mktemp("videos")
    specs = {
        # name: (file, n, codec, writer kwargs)
        "h264_long_gop": ("long.mp4", 120, "h264", {"gop": 250, "bframes": 3}),
        # Four slices per frame: decoded with slice threads.
        "h264_slices": (
            "slices.mp4",
            48,
            "h264",
            {"gop": 16, "bframes": 2, "options": {"x264-params": "slices=4"}},
        ),
        "h264_short_gop": ("short.mp4", 90, "h264", {"gop": 12, "bframes": 2}),
        "h264_open_gop": (
            "open.mkv",
            90,
            "h264",
            {"gop": 24, "bframes": 3, "options": {"x264-params": "open-gop=1"}},
        ),
        "h264_no_bframes": ("nob.mp4", 50, "h264", {"gop": 10, "bframes": 0}),
        "mpeg4_avi": ("mpeg4.avi", 60, "mpeg4", {"gop": 15, "bframes": 2}),
        "vp9_webm": ("vp9.webm", 60, "vp9", {"gop": 20}),
    }
    out = {}
    for name, (fname, n, codec, kw) in specs.items():
        path = write_video(d / fname, (coded_frame(i) for i in range(n)), fps=30, codec=codec, **kw)
        out[name] = Video(path, n, 30.0, codec)
    out["vfr_mkv"] = _vfr(d / "vfr.mkv", 64)
    return out


@pytest.fixture(scope="session")
def references(videos: dict[str, Video]) -> dict[str, list[np.ndarray]]:
    return {name: full_decode(v.path) for name, v in videos.items()}


def remux(src: Path, dst: Path, *, options: dict[str, str] | None = None, mutate=None) -> Path:
    """Copy the video packets of ``src`` into ``dst``; ``mutate(packet)`` may return new bytes."""
    with av.open(str(src)) as inp, av.open(str(dst), "w", options=options or {}) as out:
        s_in = inp.streams.video[0]
        s_out = out.add_stream_from_template(s_in)
        for pk in inp.demux(s_in):
            if pk.dts is None and pk.pts is None:
                continue
            data = mutate(pk) if mutate else None
            if data is not None:
                new = av.Packet(data)
                new.pts, new.dts, new.time_base = pk.pts, pk.dts, pk.time_base
                new.is_keyframe = pk.is_keyframe
                pk = new
            pk.stream = s_out
            out.mux(pk)
    return dst


def truncate(src: Path, dst: Path, fraction: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def write_with_audio(path: Path, n: int = 30, *, video: bool = True) -> Path:
    """A clip with an AAC audio track (or audio only when ``video`` is False)."""
    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=30) if video else None
        if vs is not None:
            vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
        a = c.add_stream("aac", rate=16000)
        a.layout = "mono"
        samples = 16000 * n // 30
        tone = (0.2 * np.sin(np.arange(samples) * 2 * np.pi * 440 / 16000)).astype(np.float32)
        for start in range(0, samples, 1024):
            chunk = tone[start : start + 1024]
            af = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
            af.sample_rate, af.pts = 16000, start
            for pk in a.encode(af):
                c.mux(pk)
        for pk in a.encode(None):
            c.mux(pk)
        if vs is not None:
            for i in range(n):
                for pk in vs.encode(av.VideoFrame.from_ndarray(coded_frame(i), format="rgb24")):
                    c.mux(pk)
            for pk in vs.encode(None):
                c.mux(pk)
    return path


def write_growing_mkv(
    path: Path, small: tuple[int, int], big: tuple[int, int], n: int = 10
) -> Path:
    """An H.264 MKV whose header states ``small`` but whose second half decodes at ``big``.

    Two raw Annex B streams (each with in-band SPS/PPS) are concatenated and muxed with
    timestamps, so the container keeps the first stream's size.
    """
    raw = b""
    for k, (w, h) in enumerate((small, big)):
        part = path.with_suffix(f".{k}.h264")
        with av.open(str(part), "w", format="h264") as c:
            s = c.add_stream("libx264", rate=25)
            s.width, s.height, s.pix_fmt = w, h, "yuv420p"
            for i in range(n):
                frame = av.VideoFrame.from_ndarray(coded_frame(i, w, h), format="rgb24")
                for pk in s.encode(frame):
                    c.mux(pk)
            for pk in s.encode(None):
                c.mux(pk)
        raw += part.read_bytes()
        part.unlink()
    joined = path.with_suffix(".h264")
    joined.write_bytes(raw)
    tb = Fraction(1, 25)
    with av.open(str(joined)) as inp, av.open(str(path), "w") as out:
        s_in = inp.streams.video[0]
        s_out = out.add_stream_from_template(s_in)
        for i, pk in enumerate(p for p in inp.demux(s_in) if p.size):
            pk.pts = pk.dts = i
            pk.duration, pk.time_base, pk.stream = 1, tb, s_out
            out.mux(pk)
    joined.unlink()
    return path
