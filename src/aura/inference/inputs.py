"""What the inference path feeds the models of a detector, per video.

:class:`InputSpec` says what a detector needs (stage-2 + stage-4 features and/or clips of given
shapes) and with which training-time parameters; :func:`aura.inference.prepare.prepare_video`
turns one video file into :class:`VideoInputs` with exactly the training code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl
import torch


@dataclass(frozen=True)
class ClipSpec:
    """A clip shape a model was trained on: ``num_frames`` uniform frames of the scaled video,
    letterboxed to ``size`` px (None: its own size); or, with ``source="native_crop"``, a
    centred ``crop_size`` px window of the input file's frames at native resolution (``size``
    None: nothing is resized)."""

    num_frames: int
    size: int | None
    source: Literal["scaled", "native_crop"] = "scaled"
    crop_size: int | None = None

    def __post_init__(self) -> None:
        native = self.source == "native_crop"
        if self.source not in ("scaled", "native_crop"):
            raise ValueError(f"clip source must be 'scaled' or 'native_crop', got {self.source!r}")
        if native and (self.crop_size is None or self.size is not None):
            raise ValueError("a native_crop clip has a crop_size and no letterbox size")
        if not native and self.crop_size is not None:
            raise ValueError("a scaled clip has no crop_size")

    @property
    def side(self) -> int | None:
        """Height and width of the clip's frames when fixed (None: the scaled video's own)."""
        return self.crop_size if self.source == "native_crop" else self.size


@dataclass(frozen=True)
class Segment:
    """A time window of the video (seconds)."""

    start_s: float
    end_s: float


@dataclass(frozen=True)
class InputSpec:
    """What to compute for each video, with the training run's parameters.

    ``features``: the joined stage-2 + stage-4 feature row (feature baselines).
    ``clips``: the clip shapes of the deep models. ``stage2``/``stage4``: the resolved
    ``features`` / ``scaled_features`` blocks; ``scaling``: the ``scaling`` block;
    ``max_pixels``: ``ingest.max_pixels``.
    """

    features: bool
    clips: tuple[ClipSpec, ...]
    stage2: dict[str, Any]
    stage4: dict[str, Any]
    scaling: dict[str, Any]
    max_pixels: int | None
    segment_s: float = 2.0
    max_segments: int = 32


@dataclass
class VideoInputs:
    """One video's model inputs: whole-video and per-segment.

    ``features`` has one row (training column names), ``segment_features`` one row per
    segment; ``clips[spec]`` is (1, 3, T, H, W), ``segment_clips[spec]`` (S, 3, T, H, W).
    """

    path: str
    duration_s: float
    segments: list[Segment]
    features: pl.DataFrame | None = None
    segment_features: pl.DataFrame | None = None
    clips: dict[ClipSpec, torch.Tensor] = field(default_factory=dict)
    segment_clips: dict[ClipSpec, torch.Tensor] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)  # probe facts (width, height, fps, ...)
    scaled_path: str | None = None  # the stage-3 video scaled clips come from (in the workdir)
    scaled_n_frames: int = 0  # frames of the scaled video (what scaled clip indices index)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per preparation step

    def clip_n_frames(self, spec: ClipSpec) -> int:
        """Frames of the file ``spec``'s clips sample (what their frame indices index)."""
        if spec.source == "native_crop":
            return int(self.info.get("n_frames") or 0)
        return self.scaled_n_frames
