"""Handcrafted forensic features per video: a registry of small, pure feature groups.

Importing the package registers every group; :data:`FEATURES` maps each feature name to
a one-line description and fixes the column order.
"""

from aura.features import blocking, blur, codec, dct, noise, temporal  # noqa: F401  (register)
from aura.features.extract import (
    compute_features,
    extract_features,
    packet_index,
    video_features,
)
from aura.features.frameset import SPATIAL_PIXELS, FrameSet
from aura.features.registry import FEATURES, GROUPS, feature_group, feature_names
from aura.features.table import FLAG_SUFFIX, fill_values, impute, to_matrix, to_table

__all__ = [
    "FEATURES",
    "FLAG_SUFFIX",
    "GROUPS",
    "SPATIAL_PIXELS",
    "FrameSet",
    "compute_features",
    "extract_features",
    "feature_group",
    "feature_names",
    "fill_values",
    "impute",
    "packet_index",
    "to_matrix",
    "to_table",
    "video_features",
]
