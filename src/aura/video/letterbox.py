"""Letterboxing: scale so the longest side is ``size``, keep the aspect, pad to a square."""

from __future__ import annotations

import numpy as np


def letterbox_geometry(width: int, height: int, size: int) -> tuple[int, int, int, int, int, int]:
    """Return ``(new_w, new_h, top, bottom, left, right)`` to fit ``width`` x ``height`` in a square.

    The longest side becomes ``size``; the other is rounded to the nearest pixel (so within
    1 px of the exact aspect) and at least 1. Padding splits evenly, the odd pixel going
    to the bottom/right.
    """
    if width < 1 or height < 1 or size < 1:
        raise ValueError(f"width, height and size must be >= 1, got {width}, {height}, {size}")
    if width >= height:
        new_w, new_h = size, max(1, min(size, round(height * size / width)))
    else:
        new_w, new_h = max(1, min(size, round(width * size / height))), size
    pad_h, pad_w = size - new_h, size - new_w
    top, left = pad_h // 2, pad_w // 2
    return new_w, new_h, top, pad_h - top, left, pad_w - left


def letterbox(
    frame: np.ndarray, size: int, fill: int = 0
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Letterbox an image ``(H, W[, C])`` to ``(size, size[, C])``.

    Returns the image and its padding ``(top, bottom, left, right)``. Downscaling uses
    ``cv2.INTER_AREA`` (no aliasing), upscaling ``cv2.INTER_LINEAR``.
    """
    import cv2  # imported lazily: the decoder path does not need OpenCV

    h, w = frame.shape[:2]
    new_w, new_h, top, bottom, left, right = letterbox_geometry(w, h, size)
    if (new_w, new_h) == (w, h):
        scaled = frame
    else:
        interp = cv2.INTER_AREA if new_w <= w and new_h <= h else cv2.INTER_LINEAR
        scaled = cv2.resize(frame, (new_w, new_h), interpolation=interp)
        if scaled.ndim < frame.ndim:  # cv2 drops a trailing channel axis of length 1
            scaled = scaled[..., None]
    out = np.full((size, size, *frame.shape[2:]), fill, dtype=frame.dtype)
    out[top : top + new_h, left : left + new_w] = scaled
    return out, (top, bottom, left, right)
