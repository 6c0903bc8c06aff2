"""Stage 1: deterministic video augmentation (K seeded variants per source video).

A variant's ops and parameters are drawn once (:func:`draw_variant`) and applied the same
way to all its frames; :func:`render_variant` streams the source and writes an H.264 MP4.
"""

from aura.augment.config import AugmentConfig
from aura.augment.spatial import SPATIAL_OPS, apply_spatial, cutout_box_pixels
from aura.augment.temporal import TEMPORAL_OPS, plan_indices
from aura.augment.variants import (
    FrameAugmenter,
    OpSpec,
    VariantSpec,
    augment_clip,
    draw_variant,
    output_size,
    render_variant,
    variant_seed,
)

__all__ = [
    "SPATIAL_OPS",
    "TEMPORAL_OPS",
    "AugmentConfig",
    "FrameAugmenter",
    "OpSpec",
    "VariantSpec",
    "apply_spatial",
    "augment_clip",
    "cutout_box_pixels",
    "draw_variant",
    "output_size",
    "plan_indices",
    "render_variant",
    "variant_seed",
]
