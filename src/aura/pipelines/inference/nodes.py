"""Inference nodes: score a table of videos with the detector; explanations on request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aura.inference.config import InferenceConfig
from aura.inference.explain import Explanation, explainer
from aura.inference.predict import predict_videos, read_requests, records


def score_videos(
    inference_videos: Any, detector: Any, inference: InferenceConfig | Mapping[str, Any]
) -> tuple[list[dict[str, Any]], dict[str, Explanation]]:
    """One scored row per video of ``inference_videos`` (``path`` and/or ``video_b64``) and,
    when ``inference.explain`` is on, each scored video's explanation keyed by its stem."""
    config = InferenceConfig.from_params(inference)
    requests = read_requests(inference_videos, config.max_upload_mb)
    explain = explainer(detector, config) if config.explain else None
    table = predict_videos(requests, detector, config, after=explain)
    return records(table), (explain.results if explain else {})


def _explained(value: Explanation | Mapping[str, Any]) -> str:
    """The video an explanation is about (an object, or its JSON as the catalog loads it)."""
    return value.name if isinstance(value, Explanation) else str(value["meta"]["path"])


def publish_predictions(
    scored: list[dict[str, Any]], explanations: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """``inference_predictions``: the scored rows, each naming its explanation's stem (or
    null when explanations are off)."""
    by_name = {_explained(e): stem for stem, e in explanations.items()}
    return [{**row, "explanation": by_name.get(row["path"])} for row in scored]
