"""Release pipeline: the cross-validated models → one calibrated, thresholded detector."""

from aura.pipelines.release.pipeline import create_pipeline

__all__ = ["create_pipeline"]
