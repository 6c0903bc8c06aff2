"""Codec cues from the probe (container/stream metadata) and the packet index (no decoding).

Re-encoding pipelines (platform uploads, generators' muxers, editing apps) leave their
signature in the codec, rate control and GOP structure rather than in the pixels.
"""

from __future__ import annotations

import numpy as np

from aura.features.frameset import NAN, FrameSet, ratio
from aura.features.registry import feature_group
from aura.video.frame_index import FrameIndex
from aura.video.probe import VideoInfo

#: One-hot codec families; decoder names map by substring (e.g. ``libdav1d`` -> av1).
CODECS = ("h264", "hevc", "vp9", "mpeg4", "av1")
_ALIASES = {"h264": ("h264", "avc"), "hevc": ("hevc", "h265"), "vp9": ("vp9",),
            "mpeg4": ("mpeg4",), "av1": ("av1", "dav1d", "aom")}  # fmt: skip

FEATURES = {
    **{f"codec_{c}": f"1.0 if the video stream is {c.upper()}, else 0.0" for c in CODECS},
    "codec_other": "1.0 if the codec is none of h264/hevc/vp9/mpeg4/av1, else 0.0",
    "codec_bit_rate": "video bit rate in bits/s (stream, else container, else size*8/duration)",
    "codec_bpp": "bits per pixel per frame: bit rate / (fps * width * height)",
    "codec_fps": "average frame rate (frames/s)",
    "codec_gop_mean": "mean GOP length: packets per keyframe",
    "codec_gop_cv": "coefficient of variation of GOP lengths (0 = fixed keyframe interval)",
    "codec_key_share": "share of packets that are keyframes",
    "codec_b_share": "share of packets shown before an earlier-decoded one (reordered, i.e. B-frames)",
    "codec_width": "display width in pixels (after rotation)",
    "codec_height": "display height in pixels (after rotation)",
    "codec_aspect": "display width / height",
    "codec_duration_s": "duration in seconds",
}


def codec_family(name: str) -> str:
    """Codec family of an FFmpeg codec/decoder name, one of :data:`CODECS` or ``other``."""
    low = name.lower()
    for family, keys in _ALIASES.items():
        if any(k in low for k in keys):
            return family
    return "other"


def gop_stats(index: FrameIndex) -> dict[str, float]:
    """GOP length, keyframe share and reordered-frame share from the packet index."""
    # dec_pos maps pts -> decode position; ordering by position recovers decode-order pts.
    order = sorted(index.dec_pos.items(), key=lambda kv: kv[1])
    pts = np.fromiter((p for p, _ in order), dtype=np.int64, count=len(order))
    n = pts.size
    if n == 0:
        return {
            "codec_gop_mean": NAN,
            "codec_gop_cv": NAN,
            "codec_key_share": NAN,
            "codec_b_share": NAN,
        }
    starts = np.asarray(sorted(set(index.key_dec)), dtype=np.int64)
    gops = np.diff(np.append(starts, n)).astype(np.float64)
    reordered = pts[1:] < np.maximum.accumulate(pts)[:-1]
    return {
        "codec_gop_mean": float(gops.mean()),
        "codec_gop_cv": ratio(float(gops.std()), float(gops.mean())) if gops.size > 1 else NAN,
        "codec_key_share": starts.size / n,
        "codec_b_share": float(reordered.sum()) / n,
    }


def _stream_stats(info: VideoInfo) -> dict[str, float]:
    fam = codec_family(info.codec)
    w, h = (info.height, info.width) if info.rotation in (90, 270) else (info.width, info.height)
    dur = info.duration_s if info.duration_s > 0 else NAN
    rate = float(info.bit_rate) if info.bit_rate else ratio(info.size_bytes * 8.0, dur)
    fps = info.fps if info.fps > 0 else NAN
    return {
        **{f"codec_{c}": float(fam == c) for c in CODECS},
        "codec_other": float(fam == "other"),
        "codec_bit_rate": rate,
        "codec_bpp": ratio(rate, fps * w * h),
        "codec_fps": fps,
        "codec_width": float(w),
        "codec_height": float(h),
        "codec_aspect": ratio(float(w), float(h)),
        "codec_duration_s": dur,
    }


@feature_group("codec", FEATURES)
def codec_features(fs: FrameSet) -> dict[str, float]:
    """Probe metadata and GOP structure; NaN where unknown (frames held in memory)."""
    out = dict.fromkeys(FEATURES, NAN)
    if fs.info is not None:
        out.update(_stream_stats(fs.info))
    if fs.index is not None:
        out.update(gop_stats(fs.index))
    return out
