"""Per-video feature extraction: sample frames once, run every registered group."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from aura.features.frameset import SPATIAL_PIXELS, FrameSet
from aura.features.registry import run_groups
from aura.video.frame_index import FrameIndex, build_index
from aura.video.limits import MAX_PIXELS
from aura.video.probe import VideoInfo, open_video, probe
from aura.video.sampler import run_indices, sample_frames

#: Bumped whenever what the feature code computes changes: it is part of the stages' cache key
#: (aura.executor caches results by parameters and input content, not by code).
#: 2: runs of neighbouring frames (run_indices); temporal features compare neighbours only.
FEATURES_VERSION = 2


def packet_index(path: str | Path, *, max_pixels: int | None = MAX_PIXELS) -> FrameIndex | None:
    """The sampler's packet index of ``path`` (keyframes, pts); None without timestamps."""
    container, stream = open_video(path, max_pixels=max_pixels)
    try:
        return build_index(path, container, stream)
    finally:
        container.close()


def compute_features(
    frames: np.ndarray,
    *,
    pts_s: np.ndarray | None = None,
    info: VideoInfo | None = None,
    index: FrameIndex | None = None,
    max_pixels: int | None = SPATIAL_PIXELS,
    indices: np.ndarray | None = None,
) -> dict[str, float]:
    """All features of (T, H, W, 3) uint8 RGB frames in coded orientation; NaN where undefined.

    Without ``info``/``index`` (frames held in memory) the codec features are NaN.
    ``indices`` are the frames' numbers in the video (None: consecutive frames); the
    temporal group compares only neighbouring frames.
    Spatial groups use an evenly spaced subset of frames holding at most ``max_pixels``
    pixels (8 of 16 frames at 1080p; all up to 720p); ``None`` uses every frame.
    """
    fs = FrameSet(
        np.asarray(frames),
        pts_s=pts_s,
        info=info,
        index=index,
        max_pixels=max_pixels,
        indices=None if indices is None else np.asarray(indices, dtype=np.int64),
    )
    return run_groups(fs)


def extract_features(
    path: str | Path,
    *,
    num_frames: int = 16,
    size: int | None = None,
    info: VideoInfo | None = None,
    max_pixels: int | None = SPATIAL_PIXELS,
    crop: tuple[int, int, int, int] | None = None,
    max_frame_pixels: int | None = MAX_PIXELS,
    indices: Sequence[int] | None = None,
) -> dict[str, float]:
    """Features of one video file: ``num_frames`` sampled frames plus codec cues.

    ``size`` letterboxes frames to ``size`` px (the padding is cropped off again, so
    features see only the picture). Repeated samples of a short video are dropped, and
    frames are turned back to coded orientation so the codec's block grid lines up.
    Pass ``info`` from an earlier :func:`aura.video.probe` to skip probing; ``max_pixels``
    as in :func:`compute_features`. ``crop`` = (top, bottom, left, right) pixels of padding
    baked into the file (the letterbox bars of a stage-3 video) to cut off before the
    features, so bars never count as picture. Raises
    :class:`aura.video.VideoDecodeError` for an unusable file, ``too_large`` when a frame
    has more than ``max_frame_pixels`` pixels (checked before anything is decoded).
    The frames are runs of 4 consecutive frames spread uniformly over the video
    (:func:`aura.video.run_indices`), so temporal traces between neighbouring frames are
    seen; ``indices`` (frame numbers, e.g. such runs inside a time window) replaces them.

    Memory: the sampled frames (T x H x W x 3 bytes) are the only full-size copy held;
    crops and rotation are views (see :class:`aura.features.frameset.FrameSet` for the rest).
    """
    p = Path(path)
    if info is None:
        info = probe(p, verify=False, max_pixels=max_frame_pixels)
    index = packet_index(p, max_pixels=max_frame_pixels)
    if indices is None and index is not None and index.n_frames:
        indices = run_indices(index.n_frames, num_frames)
    clip = sample_frames(p, num_frames, size=size, indices=indices, max_pixels=max_frame_pixels)
    frames = clip.frames
    if clip.padding is not None:
        top, bottom, left, right = clip.padding
        frames = frames[:, top : frames.shape[1] - bottom, left : frames.shape[2] - right]
    if crop is not None:
        top, bottom, left, right = (int(v) for v in crop)
        if top + bottom >= frames.shape[1] or left + right >= frames.shape[2]:
            raise ValueError(
                f"{p}: crop {crop} leaves no picture in {frames.shape[2]}x{frames.shape[1]} frames"
            )
        frames = frames[:, top : frames.shape[1] - bottom, left : frames.shape[2] - right]
    keep = np.r_[True, np.diff(clip.indices) != 0]
    if not keep.all():  # a short video: repeated samples (indexing copies, so only then)
        frames = frames[keep]
    if info.rotation:
        frames = np.rot90(frames, -(info.rotation // 90), axes=(1, 2))
    return compute_features(
        frames,  # views are fine: FrameSet makes each frame contiguous as it reads it
        pts_s=clip.pts_s[keep],
        indices=clip.indices[keep],
        info=info,
        index=index,
        max_pixels=max_pixels,
    )


def video_features(
    path: str | Path,
    *,
    num_frames: int,
    max_pixels: int | None = MAX_PIXELS,
    crop: Sequence[int] | None = None,
    info: VideoInfo | None = None,
    indices: Sequence[int] | None = None,
) -> dict[str, float]:
    """One video's feature row as stages 2 and 4 compute it (NaN where undefined, imputed later).

    ``num_frames`` is the stage's ``num_frames``, ``max_pixels`` ``ingest.max_pixels``,
    ``crop`` the letterbox padding of a stage-3 video (None for an original); ``info`` and
    ``indices`` as in :func:`extract_features`. Every non-finite value (NaN, ±inf) is NaN.
    """
    values = extract_features(
        path,
        num_frames=int(num_frames),
        info=info,
        crop=tuple(int(v) for v in crop) if crop else None,  # type: ignore[arg-type]
        max_frame_pixels=max_pixels,
        indices=indices,
    )
    return {k: float(v) if np.isfinite(v) else float("nan") for k, v in values.items()}
