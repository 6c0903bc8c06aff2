"""Rescale a whole video: letterbox every frame to a square and re-encode, streaming."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from aura.video.letterbox import letterbox_geometry
from aura.video.limits import MAX_PIXELS
from aura.video.probe import probe
from aura.video.sampler import iter_frames
from aura.video.writer import VideoWriter

#: ``transform(frames, geometry)``: maps letterboxed frames to the frames to write (same size).
FrameTransform = Callable[[Iterator[np.ndarray], dict[str, int]], Iterable[np.ndarray]]
#: The geometry keys (and ``scaled_metadata`` columns) of the letterbox padding, in crop order.
PAD_KEYS = ("pad_top", "pad_bottom", "pad_left", "pad_right")


def letterbox_crop(geometry: Mapping[str, Any]) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) padding of a scaled video: the ``crop`` stage 4 cuts off."""
    top, bottom, left, right = (int(geometry[k]) for k in PAD_KEYS)
    return top, bottom, left, right


def rescale_video(
    src: str | Path,
    dst: str | Path,
    *,
    method: str,
    size: int,
    crf: int,
    max_pixels: int | None = MAX_PIXELS,
    weights_path: str | Path | None = None,
) -> dict[str, Any]:
    """Stage 3 on one video: ``scaling.method`` ``letterbox`` (:func:`scale_video`) or
    ``autoencoder`` (:func:`aura.video.vae_scale.scale_video_vae`, VAE in ``weights_path``).

    Returns the geometry dict of :func:`scale_video` (what ``scaled_metadata`` records).
    """
    if method == "autoencoder":
        from aura.video.vae_scale import scale_video_vae  # torch + diffusers only when asked

        if weights_path is None:
            raise ValueError("scaling.method=autoencoder needs scaling.autoencoder.weights_path")
        return scale_video_vae(
            src, dst, size=size, crf=crf, weights_path=weights_path, max_pixels=max_pixels
        )
    if method != "letterbox":
        raise ValueError(f"scaling.method={method!r}: expected letterbox or autoencoder")
    return scale_video(src, dst, size=size, crf=crf, max_pixels=max_pixels)


def scale_video(
    src: str | Path,
    dst: str | Path,
    *,
    size: int = 112,
    crf: int = 18,
    codec: str = "h264",
    preset: str = "veryfast",
    transform: FrameTransform | None = None,
    max_pixels: int | None = MAX_PIXELS,
) -> dict[str, Any]:
    """Letterbox every frame of ``src`` to ``size`` x ``size`` (aspect kept) and write ``dst``.

    Frames stream from decoder to encoder one at a time. The output is constant frame rate at
    the source's average fps. Returns the geometry: the scaled picture size inside the square
    and the padding (top, bottom, left, right), plus frame counts. Frames above
    ``max_pixels`` are refused (``too_large``) before any is decoded.

    ``transform`` (optional) receives the letterboxed frame iterator and the geometry (the
    ``content_*`` and ``pad_*`` keys) and yields the frames actually written; see
    :mod:`aura.video.vae_scale`.
    """
    if size < 16 or size % 2:
        raise ValueError(f"scaling.target_size={size}: must be an even number >= 16")
    info = probe(src, max_pixels=max_pixels)  # verified: a truncated file fails as at ingest
    width, height = (
        (info.height, info.width) if info.rotation in (90, 270) else (info.width, info.height)
    )
    new_w, new_h, top, bottom, left, right = letterbox_geometry(width, height, size)
    geometry = {
        "content_width": new_w,
        "content_height": new_h,
        "pad_top": top,
        "pad_bottom": bottom,
        "pad_left": left,
        "pad_right": right,
    }
    fps = info.fps if info.fps and info.fps > 0 else 25.0
    frames: Iterable[np.ndarray] = iter_frames(src, size=size, max_pixels=max_pixels)
    if transform is not None:
        frames = transform(iter(frames), dict(geometry))
    with VideoWriter(
        dst, width=size, height=size, fps=fps, codec=codec, crf=crf, preset=preset
    ) as writer:
        for frame in frames:
            writer.write(frame)
    return {
        "width": size,
        "height": size,
        **geometry,
        "source_width": width,
        "source_height": height,
        "fps": fps,
        "n_frames": writer.frames_written,
        "source_n_frames": info.n_frames,
    }
