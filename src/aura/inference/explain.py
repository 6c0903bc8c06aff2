"""Explanations of a detector's verdict on one video (``aura predict --explain``, and the
``inference`` pipeline with ``inference.explain: true``).

Per video, over the detector's members (fold models averaged):
- feature baselines: the top-k feature contributions (standardised coefficient × value);
- 3D CNNs that name a ``cam_layer`` (naive_cnn, r3d18_inception, x3d): Grad-CAM heatmaps on
  the frames of the whole-video clip (the centred native crops for a ``native_crop`` model);
- every clip model: temporal occlusion, i.e. how much the logit drops when a segment's frames
  are blanked.
Rendered by :func:`aura.explain.write_explanation` as ``<stem>.png`` + ``<stem>.json``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aura.explain import (
    Contribution,
    feature_contributions,
    gradcam,
    segment_occlusion,
    unnormalise,
    write_explanation,
)
from aura.inference.config import InferenceConfig
from aura.inference.inputs import ClipSpec, Segment, VideoInputs
from aura.video import sample_indices


@dataclass
class Explanation:
    """Everything drawn and written for one video."""

    name: str  # the request's path (or upload name)
    segments: list[Segment]
    segment_drops: np.ndarray  # (S,) mean logit drop over clip members; NaN: no clip model
    contributions: list[Contribution]
    frames: np.ndarray | None = None  # (T, H, W, 3) uint8 of the first clip member's clip
    frame_times_s: list[float] | None = None
    heatmaps: np.ndarray | None = None  # (T, H, W) mean Grad-CAM over supporting members
    meta: dict[str, Any] = field(default_factory=dict)


def frame_times(video: VideoInputs, num_frames: int, spec: ClipSpec | None = None) -> list[float]:
    """Times (s) of the whole-video clip's frames: uniform indices of the file ``spec``'s
    clips sample (the scaled video, or the input file for native crops; default: scaled)."""
    n = max(video.scaled_n_frames if spec is None else video.clip_n_frames(spec), 1)
    idx = sample_indices(n, num_frames)
    return [float((i + 0.5) * video.duration_s / n) for i in idx]


def _mean_contributions(lists: list[list[Contribution]], top_k: int) -> list[Contribution]:
    """Per column, the mean contribution over fold members; the top ``top_k`` by size."""
    by_col: dict[str, list[Contribution]] = defaultdict(list)
    for items in lists:
        for c in items:
            by_col[c.column].append(c)
    merged = []
    for items in by_col.values():
        first = items[0]
        merged.append(
            Contribution(
                **{
                    **first.as_dict(),
                    "coefficient": float(np.mean([c.coefficient for c in items])),
                    "contribution": float(np.mean([c.contribution for c in items])),
                }
            )
        )
    merged.sort(key=lambda c: -abs(c.contribution))
    return merged[:top_k]


def explain_video(detector: Any, video: VideoInputs, score: Any, top_k: int) -> Explanation:
    """The explanation of ``detector``'s score on the prepared ``video``."""
    contributions: list[list[Contribution]] = []
    drops: list[np.ndarray] = []
    cams: list[np.ndarray] = []
    notes: list[str] = []
    frames = times = None
    shown: ClipSpec | None = None  # the clip whose frames are drawn
    for member in detector.members:
        if member.kind == "features":
            contributions.append(feature_contributions(member.artifact, video.features, None))
            continue
        spec = member.model_kind.clip_spec(member.artifact)
        clip = video.clips[spec]
        net = member.artifact.network()
        member_times = frame_times(video, spec.num_frames, spec)
        drops.append(segment_occlusion(net, clip, member_times, video.segments))
        cam = gradcam(net, clip)
        if cam.ok and (frames is None or cam.heatmaps.shape == cams[0].shape):
            cams.append(cam.heatmaps)
            if frames is None:
                frames, times, shown = unnormalise(clip), member_times, spec
        elif not cam.ok and cam.note not in notes:
            notes.append(cam.note)
    if frames is None and drops:  # clip models without Grad-CAM: still show the frames
        first = next(m for m in detector.members if m.kind == "clips")
        spec = first.model_kind.clip_spec(first.artifact)
        frames, times = unnormalise(video.clips[spec]), frame_times(video, spec.num_frames, spec)
        shown = spec
    if shown is not None and shown.source == "native_crop":
        side = shown.crop_size
        notes.append(f"frames: the centred {side}x{side} native-resolution crop the model sees")
    segment_drops = (
        np.nanmean(np.stack(drops), axis=0) if drops else np.full(len(video.segments), np.nan)
    )
    return Explanation(
        name=video.path,
        segments=list(video.segments),
        segment_drops=segment_drops,
        contributions=_mean_contributions(contributions, top_k) if contributions else [],
        frames=frames,
        frame_times_s=times,
        heatmaps=np.mean(np.stack(cams), axis=0) if cams else None,
        meta={
            "path": video.path,
            "probability": score.probability,
            "label": score.label,
            "threshold": score.threshold,
            "models": list(detector.models),
            "detector_version": detector.version,
            "notes": notes,
        },
    )


def stem_for(index: int, name: str) -> str:
    """A file-name-safe, unique stem for the ``index``-th request named ``name``."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name)[:60] or "video"
    return f"{index:04d}_{base}"


class Explainer:
    """The ``after`` hook of :func:`aura.inference.predict.predict_videos`: explains each
    scored video and keeps the result under its stem in :attr:`results`."""

    def __init__(self, detector: Any, config: InferenceConfig) -> None:
        self.detector = detector
        self.top_k = config.top_k
        self.results: dict[str, Explanation] = {}

    def __call__(self, request: Any, video: VideoInputs, score: Any) -> None:
        explanation = explain_video(self.detector, video, score, self.top_k)
        explanation.name = request.name
        explanation.meta["path"] = request.name
        self.results[stem_for(len(self.results), request.name)] = explanation


def explainer(detector: Any, config: InferenceConfig) -> Explainer:
    return Explainer(detector, config)


def write_explanations(results: dict[str, Explanation], out_dir: str | Path) -> list[Path]:
    """``<stem>.png`` + ``<stem>.json`` per explanation in ``out_dir``; the PNG paths."""
    out = Path(out_dir)
    written = []
    for stem, e in results.items():
        if e.frames is None:  # a features-only detector: no frames to draw, the bars still are
            frames = np.zeros((1, 8, 8, 3), np.uint8)
            times: list[float] | None = None
        else:
            frames, times = e.frames, e.frame_times_s
        png, _ = write_explanation(
            out,
            stem,
            frames_uint8=frames,
            heatmaps=e.heatmaps,
            segment_drops=e.segment_drops,
            segments=e.segments,
            contributions=e.contributions,
            meta=e.meta,
            frame_times_s=times,
        )
        written.append(png)
    return written
