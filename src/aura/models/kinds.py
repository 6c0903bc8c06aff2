"""The two kinds of model AURA trains, and what each kind means for training, storage and
inference. Every registry entry (:func:`aura.models.registry.model_entry`) names its kind.

- ``features``: a scikit-learn pipeline over the joined stage-2 + stage-4 feature table; stored
  with skops.
- ``clips``: a torch video classifier over letterboxed uniform clips of the scaled video, or
  native-resolution crops of the stage-1 file (``clip_source: native_crop``); stored as
  safetensors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from aura.inference.inputs import ClipSpec, VideoInputs
from aura.models.artifacts import ArtifactFormat

KindName = Literal["features", "clips"]
#: Probabilities are clipped to [EPS, 1 - EPS] before taking logits.
EPS = 1e-6


def logit(p: np.ndarray | float) -> np.ndarray:
    """log(p / (1 - p)) with p clipped away from 0 and 1."""
    q = np.clip(np.asarray(p, dtype=np.float64), EPS, 1 - EPS)
    return np.log(q) - np.log1p(-q)


@dataclass(frozen=True)
class ModelKind:
    """What a kind of model reads and how it is stored."""

    name: KindName
    artifact_format: ArtifactFormat
    #: top-level datasets a training cell of this kind reads (besides params)
    cell_inputs: tuple[str, ...]

    def clip_spec(self, artifact: Any) -> ClipSpec | None:
        """The clip shape ``artifact`` was trained on (None for feature models)."""
        if self.name == "clips":
            cfg = artifact.config
            return ClipSpec(cfg.num_frames, cfg.clip_size, cfg.clip_source, cfg.crop_size)
        return None

    def logits(self, artifact: Any, video: VideoInputs) -> tuple[float, np.ndarray]:
        """(whole-video logit, per-segment logits) of ``artifact`` on ``video``."""
        if self.name == "features":
            if video.features is None or video.segment_features is None:
                raise ValueError(f"{video.path}: no feature rows were computed")
            whole = float(logit(artifact.predict_proba(video.features))[0])
            segs = (
                logit(artifact.predict_proba(video.segment_features))
                if video.segment_features.height
                else np.zeros(0)
            )
            return whole, segs
        spec = self.clip_spec(artifact)
        net = artifact.network()
        with torch.inference_mode():
            whole = float(net(video.clips[spec]).reshape(-1)[0])
            seg = video.segment_clips.get(spec)
            segs = (
                net(seg).reshape(-1).double().numpy()
                if seg is not None and len(seg)
                else np.zeros(0)
            )
        return whole, segs


FEATURES = ModelKind("features", "skops", ("cv_folds", "model_input_table", "video_index"))
#: clip cells read the scaled videos or (native_crop) the originals and augmented variants
CLIPS = ModelKind(
    "clips",
    "safetensors",
    ("cv_folds", "scaled_metadata", "video_index", "augmented_metadata"),
)
KINDS = {k.name: k for k in (FEATURES, CLIPS)}
