"""Project pipelines."""

from __future__ import annotations

from kedro.pipeline import Pipeline

from aura.pipelines import ingest

#: Stages in run order; ``__default__`` chains them all.
STAGES = ("ingest",)


def register_pipelines() -> dict[str, Pipeline]:
    """Register each stage under its name and all of them, in order, as ``__default__``."""
    pipelines = {"ingest": ingest.create_pipeline()}
    pipelines["__default__"] = sum((pipelines[name] for name in STAGES), Pipeline([]))
    return pipelines
