"""Perturbations for the robustness report: what a video goes through when it is re-shared.

Each perturbation is a function ``(src, dst, **params) -> None`` that decodes ``src`` with
PyAV through :mod:`aura.video` (upright frames, one at a time, never the whole video in
memory) and writes a new H.264 file ``dst`` with :class:`aura.video.VideoWriter`:

- ``crf23`` / ``crf30`` / ``crf38``: the same frames re-encoded at that CRF (a platform's
  re-compression; higher is lossier).
- ``downscale``: both sides x0.5 (area interpolation), rounded down to even sizes.
- ``crop_9x16``: a centre crop to 9:16 of any frame wider than 9:16 (landscape, square and
  3:4 frames alike: what reframing for a vertical feed does). A frame already 9:16 or narrower
  is left as it is: the perturbation does not apply, the video is scored unchanged and its rows
  say so (status ``unchanged``).
- ``fps_half``: every other frame dropped (frames 0, 2, 4, ...), the frame rate halved, so the
  duration stays.
- ``caption``: a burnt-in caption bar (the demo corpus's :class:`~aura.corpus.demo.scene.Caption`)
  on every frame.

Every perturbation re-encodes; those that are not about compression use CRF 18 (the scaling
stage's default, visually lossless) so their own change dominates. H.264 in 4:2:0 needs even
sizes: an odd width or height loses its last column or row. :func:`perturb` runs one by name
and turns any failure into a status (:data:`aura.video.errors.STATUS_OF_REASON`), never a crash.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np
from pydantic import Field, field_validator

from aura.config import Section
from aura.executor.cache import atomic_path
from aura.video import VideoDecodeError, VideoInfo, VideoWriter, iter_frames, probe
from aura.video.errors import STATUS_OF_REASON
from aura.video.limits import MAX_PIXELS

#: CRF of the perturbations that are not about compression (the scaling stage's default).
CLEAN_CRF = 18
#: The target aspect of ``crop_9x16`` (width / height).
ASPECT_9X16 = 9 / 16
#: Statuses of a perturbed video that was scored: ``ok`` (changed) or ``unchanged`` (no-op).
SCORED = ("ok", "unchanged")

PerturbFn = Callable[..., None]


class NotApplicable(Exception):  # noqa: N818 (an outcome, not an error)
    """Raised by a perturbation that leaves this video as it is (nothing written)."""


@dataclass(frozen=True)
class Perturbation:
    """A registered perturbation: its function, fixed parameters and a one-line summary."""

    name: str
    fn: PerturbFn
    params: dict[str, Any] = field(default_factory=dict)
    summary: str = ""


PERTURBATIONS: dict[str, Perturbation] = {}


def register(name: str, fn: PerturbFn, summary: str, **params: Any) -> None:
    """Add ``fn`` with ``params`` as perturbation ``name``."""
    if name in PERTURBATIONS or name == "none":
        raise ValueError(f"perturbation {name!r} registered twice (or reserved)")
    PERTURBATIONS[name] = Perturbation(name, fn, dict(params), summary)


def _even(n: int) -> int:
    return max(2, int(n) - int(n) % 2)


def _upright(info: VideoInfo) -> tuple[int, int]:
    """(width, height) of the upright picture."""
    if info.rotation in (90, 270):
        return info.height, info.width
    return info.width, info.height


def _rewrite(
    src: str | Path,
    dst: str | Path,
    info: VideoInfo,
    op: Callable[[np.ndarray], np.ndarray] | None,
    *,
    crf: int,
    max_pixels: int | None,
    step: int = 1,
) -> None:
    """Stream ``src``'s frames (every ``step``-th) through ``op`` into ``dst`` at ``crf``; the
    frame rate is divided by ``step``. Odd sizes lose their last row/column."""
    fps = (info.fps if info.fps and info.fps > 0 else 25.0) / step
    frames: Iterator[np.ndarray] = iter_frames(src, max_pixels=max_pixels)
    with ExitStack() as stack:
        writer: VideoWriter | None = None
        for i, frame in enumerate(frames):
            if i % step:
                continue
            out = frame if op is None else op(frame)
            h, w = out.shape[:2]
            out = out[: h - h % 2, : w - w % 2]
            if writer is None:
                writer = VideoWriter(
                    dst, width=out.shape[1], height=out.shape[0], fps=fps, crf=int(crf)
                )
                stack.enter_context(writer)
            writer.write(np.ascontiguousarray(out))
        if writer is None:
            raise VideoDecodeError(src, "corrupt", "no frame could be decoded")


def reencode(
    src: str | Path, dst: str | Path, *, crf: int, max_pixels: int | None = MAX_PIXELS
) -> None:
    """The same frames, size and frame rate re-encoded with H.264 at ``crf``."""
    info = probe(src, max_pixels=max_pixels)
    _rewrite(src, dst, info, None, crf=crf, max_pixels=max_pixels)


def downscale(
    src: str | Path,
    dst: str | Path,
    *,
    factor: float = 0.5,
    crf: int = CLEAN_CRF,
    max_pixels: int | None = MAX_PIXELS,
) -> None:
    """Both sides times ``factor`` (area interpolation), rounded down to even sizes."""
    if not 0 < factor < 1:
        raise ValueError(f"downscale factor must lie in (0, 1), got {factor}")
    info = probe(src, max_pixels=max_pixels)
    w, h = _upright(info)
    size = (_even(math.floor(w * factor)), _even(math.floor(h * factor)))

    def op(frame: np.ndarray) -> np.ndarray:
        return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)

    _rewrite(src, dst, info, op, crf=crf, max_pixels=max_pixels)


def crop_9x16(
    src: str | Path, dst: str | Path, *, crf: int = CLEAN_CRF, max_pixels: int | None = MAX_PIXELS
) -> None:
    """Centre crop to 9:16 (full height, even width) of a frame wider than 9:16; a frame
    already 9:16 or narrower raises :class:`NotApplicable` (nothing written)."""
    info = probe(src, max_pixels=max_pixels)
    w, h = _upright(info)
    target = _even(round(h * ASPECT_9X16))
    if w <= target:
        raise NotApplicable(f"{w}x{h} is not wider than 9:16; left as it is")
    x0 = (w - target) // 2

    def op(frame: np.ndarray) -> np.ndarray:
        return frame[:, x0 : x0 + target]

    _rewrite(src, dst, info, op, crf=crf, max_pixels=max_pixels)


def fps_half(
    src: str | Path, dst: str | Path, *, crf: int = CLEAN_CRF, max_pixels: int | None = MAX_PIXELS
) -> None:
    """Frames 0, 2, 4, ... at half the frame rate (same duration)."""
    info = probe(src, max_pixels=max_pixels)
    _rewrite(src, dst, info, None, crf=crf, max_pixels=max_pixels, step=2)


def caption(
    src: str | Path,
    dst: str | Path,
    *,
    text: str = "BREAKING: you won't believe what happens next",
    position: str = "bottom",
    style: str = "dark",
    crf: int = CLEAN_CRF,
    max_pixels: int | None = MAX_PIXELS,
) -> None:
    """A semi-transparent caption bar with ``text`` burnt into every frame (the demo's captions)."""
    from aura.corpus.demo.scene import Caption

    info = probe(src, max_pixels=max_pixels)
    w, h = _upright(info)
    bar = Caption(text, position, style, w, h)
    _rewrite(src, dst, info, bar.apply, crf=crf, max_pixels=max_pixels)


for _crf in (23, 30, 38):
    register(f"crf{_crf}", reencode, f"H.264 re-encode at CRF {_crf}", crf=_crf)
register("downscale", downscale, "both sides x0.5, even sizes", factor=0.5)
register("crop_9x16", crop_9x16, "centre crop to 9:16 of frames wider than 9:16")
register("fps_half", fps_half, "every other frame dropped, frame rate halved")
register("caption", caption, "burnt-in caption bar")


@dataclass(frozen=True)
class Outcome:
    """What :func:`perturb` did: ``status`` ``ok`` (``dst`` written), ``unchanged`` (the
    perturbation does not apply: score the source), or a failure status with ``error``."""

    status: str
    error: str | None = None

    @property
    def written(self) -> bool:
        return self.status == "ok"


def failure(err: BaseException) -> tuple[str, str]:
    """(status, error text) of an exception: a decode failure's status, else ``error``."""
    if isinstance(err, VideoDecodeError):
        return STATUS_OF_REASON.get(err.reason, err.reason), str(err)
    return "error", f"{type(err).__name__}: {err}"


def perturb(
    name: str, src: str | Path, dst: str | Path, *, max_pixels: int | None = MAX_PIXELS
) -> Outcome:
    """Apply perturbation ``name`` to ``src`` into ``dst`` (written atomically); never raises
    for a bad video (``KeyError`` for an unknown name, a programming error)."""
    entry = PERTURBATIONS[name]
    try:
        with atomic_path(dst) as tmp:
            entry.fn(src, tmp, max_pixels=max_pixels, **entry.params)
    except NotApplicable as why:
        return Outcome("unchanged", f"{name}: {why}")
    except Exception as err:  # every failure is data
        status, error = failure(err)
        return Outcome(status, f"{name}: {error}")
    return Outcome("ok")


class RobustnessConfig(Section):
    """``evaluation.robustness``: every fold model re-scores its validation originals after
    each perturbation, through the inference path (``kedro run --pipelines robustness``)."""

    PREFIX: ClassVar[str] = "evaluation.robustness"

    enabled: bool = True
    # names in aura.evaluation.robustness.PERTURBATIONS, in report order
    perturbations: tuple[str, ...] = Field(tuple(PERTURBATIONS), min_length=1)
    # per fold: a seeded subset of this many validation originals, stratified by label
    # (null: all of them); bounds the cost, which is folds x videos x perturbations
    max_videos: int | None = Field(None, ge=1)
    seed: int = Field(0, ge=0)  # seed of the subset (intervals: evaluation.bootstrap / seed)

    @field_validator("perturbations", mode="before")
    @classmethod
    def _one_name(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("perturbations")
    @classmethod
    def _known(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        if unknown := [n for n in names if n not in PERTURBATIONS]:
            raise ValueError(f"unknown perturbations {unknown}; valid: {', '.join(PERTURBATIONS)}")
        if len(set(names)) != len(names):
            raise ValueError(f"lists a perturbation twice: {list(names)}")
        return names
