"""``inference``: how videos nobody trained on are scored (pipeline, ``aura predict``, serving)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from aura.config import Section


class InferenceConfig(Section):
    """``inference`` parameters."""

    PREFIX: ClassVar[str] = "inference"

    segment_s: float = Field(2.0, gt=0)  # per-segment scores over windows of this length
    max_segments: int = Field(32, ge=1)  # windows widen so a video has at most this many
    max_upload_mb: float = Field(50.0, gt=0)  # cap of a base64 `video_b64` request
    # the inference pipeline writes explanations (catalog: inference_explanations)
    explain: bool = False
    top_k: int = Field(10, ge=1)  # feature contributions listed per video
    workdir: str | None = None  # scratch for scaled copies; None: a temporary folder
