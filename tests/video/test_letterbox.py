"""letterbox_geometry / letterbox: longest side = size, aspect kept, padding recorded."""

from __future__ import annotations

import numpy as np
import pytest

from aura.video import letterbox, letterbox_geometry


@pytest.mark.parametrize(
    ("w", "h", "size"),
    [
        (160, 96, 112),
        (1920, 1080, 112),
        (1080, 1920, 112),
        (96, 160, 64),
        (100, 100, 112),
        (641, 359, 112),
        (3, 1000, 112),
        (50, 30, 112),
    ],
)
def test_geometry(w: int, h: int, size: int) -> None:
    new_w, new_h, top, bottom, left, right = letterbox_geometry(w, h, size)
    assert max(new_w, new_h) == size
    assert min(new_w, new_h) >= 1
    if w >= h:
        assert abs(new_h - h * size / w) <= 1
    else:
        assert abs(new_w - w * size / h) <= 1
    assert new_h + top + bottom == size and new_w + left + right == size
    assert 0 <= bottom - top <= 1 and 0 <= right - left <= 1


def test_geometry_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        letterbox_geometry(0, 10, 112)
    with pytest.raises(ValueError):
        letterbox_geometry(10, 10, 0)


@pytest.mark.parametrize(
    "shape", [(96, 160, 3), (160, 96, 3), (120, 120, 3), (96, 160), (96, 160, 1)]
)
def test_letterbox_image(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(1, 255, shape, dtype=np.uint8)  # no zeros: padding is recognisable
    out, (top, bottom, left, right) = letterbox(img, 112, fill=0)
    assert out.shape == (112, 112, *shape[2:]) and out.dtype == np.uint8
    h, w = shape[:2]
    new_w, new_h, *_ = letterbox_geometry(w, h, 112)
    inner = out[top : 112 - bottom, left : 112 - right]
    assert inner.shape[:2] == (new_h, new_w) and inner.min() > 0
    assert not out[:top].any() and not out[112 - bottom :].any()
    assert not out[:, :left].any() and not out[:, 112 - right :].any()


def test_letterbox_keeps_content_and_fill() -> None:
    img = np.zeros((90, 160, 3), np.uint8)
    img[:, :80] = 200  # left half bright
    out, (top, bottom, left, right) = letterbox(img, 64, fill=7)
    assert (top, bottom, left, right) == (14, 14, 0, 0)
    assert (out[:top] == 7).all() and (out[64 - bottom :] == 7).all()
    body = out[top : 64 - bottom].astype(int)
    assert body[:, :30].mean() > 190 and body[:, 34:].mean() < 10


def test_letterbox_upscales_small_frames() -> None:
    img = np.full((30, 50, 3), 99, np.uint8)
    out, pad = letterbox(img, 112)
    assert out.shape == (112, 112, 3) and pad == (22, 23, 0, 0)
    assert (out[22:89] == 99).all()
