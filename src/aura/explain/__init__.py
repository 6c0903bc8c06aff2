"""Explanations of single predictions: feature contributions for the baselines, Grad-CAM for
the 3D CNNs, temporal occlusion for every deep model, and a PNG + JSON report of them."""

from aura.explain.cam import CamResult, gradcam, model_name
from aura.explain.contributions import (
    Contribution,
    FeatureInfo,
    default_stage_prefixes,
    describe_column,
    feature_contributions,
    linear_coefficients,
)
from aura.explain.occlusion import (
    BASELINE,
    segment_frames,
    segment_occlusion,
    temporal_occlusion,
)
from aura.explain.report import heat_summary, unnormalise, write_explanation

__all__ = [
    "BASELINE",
    "CamResult",
    "Contribution",
    "FeatureInfo",
    "default_stage_prefixes",
    "describe_column",
    "feature_contributions",
    "gradcam",
    "heat_summary",
    "linear_coefficients",
    "model_name",
    "segment_frames",
    "segment_occlusion",
    "temporal_occlusion",
    "unnormalise",
    "write_explanation",
]
