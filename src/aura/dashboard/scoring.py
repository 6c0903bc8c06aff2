"""Scoring one video in the dashboard: the ``aura predict --explain`` path, called as is.

:func:`score` runs :func:`aura.inference.predict.predict_videos` (the one loop behind
``aura predict``, the ``inference`` pipeline and the served model) with the
:class:`~aura.inference.explain.Explainer` hook and :func:`~aura.inference.explain.write_explanations`,
so a file scores here exactly as on the command line; a bad file is a status row, never an
exception.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from aura.inference.explain import Explanation, explainer, write_explanations
from aura.inference.predict import VideoRequest, predict_videos

#: Called with (fraction done, what is happening) while a video is scored.
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class ScoreResult:
    """One scored video: the ``aura predict`` record plus its explanation."""

    name: str
    status: str
    error: str | None
    probability: float | None
    label: str | None
    threshold: float | None
    fold_spread: float | None
    duration_s: float | None
    model: str
    detector_version: str
    segments: pl.DataFrame  # start_s, end_s, probability
    contributions: pl.DataFrame  # column, stage, group, description, value, contribution
    segment_drops: pl.DataFrame  # start_s, end_s, logit_drop (temporal occlusion)
    contact_sheet: Path | None  # the PNG `aura predict --explain` writes
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def upload_request(name: str, data: bytes, max_upload_mb: float) -> VideoRequest:
    """A request for uploaded bytes; over ``max_upload_mb`` it carries the error instead
    (scored as a ``bad_request`` row, like an oversized upload to the served model)."""
    if len(data) > max_upload_mb * 2**20:
        return VideoRequest(
            name,
            error=(
                f"{name}: the file is {len(data) / 2**20:.1f} MiB, over the upload cap of "
                f"{max_upload_mb:g} MiB (inference.max_upload_mb)"
            ),
        )
    return VideoRequest(name, data=data)


def path_request(path: str) -> VideoRequest:
    """A request for a file on the server (a missing one becomes a ``missing_file`` row)."""
    text = path.strip()
    if not text:
        return VideoRequest("(no path)", error="give the path of a video file on the server")
    return VideoRequest(text, path=text)


def _finite(value: Any) -> float | None:
    return float(value) if value is not None and math.isfinite(float(value)) else None


def score(
    detector: Any, request: VideoRequest, out_dir: Path, progress: Progress | None = None
) -> ScoreResult:
    """Score ``request`` with ``detector`` as ``aura predict --explain`` does; the contact
    sheet goes to ``out_dir``."""
    report = progress or (lambda fraction, text: None)
    config = detector.inference_config()
    explain = explainer(detector, config)

    def after(req: VideoRequest, video: Any, result: Any) -> None:
        report(0.6, "explaining the score (feature contributions, heatmaps, occlusion)")
        explain(req, video, result)

    report(0.1, "decoding the video and scoring it with the released detector")
    table = predict_videos([request], detector, config, after=after)
    report(0.9, "drawing the contact sheet")
    sheets = write_explanations(explain.results, out_dir)
    report(1.0, "done")
    row = table.row(0, named=True)
    explanation: Explanation | None = next(iter(explain.results.values()), None)
    return ScoreResult(
        name=row["path"],
        status=row["status"],
        error=row["error"],
        probability=row["probability"],
        label=row["label"],
        threshold=row["threshold"],
        fold_spread=row["fold_spread"],
        duration_s=row["duration_s"],
        model=row["model"],
        detector_version=row["detector_version"],
        segments=pl.DataFrame(
            row["segments"] or [],
            schema={"start_s": pl.Float64, "end_s": pl.Float64, "probability": pl.Float64},
        ),
        contributions=_contributions(explanation),
        segment_drops=_drops(explanation),
        contact_sheet=sheets[0] if sheets else None,
        notes=list(explanation.meta.get("notes", [])) if explanation else [],
    )


def _contributions(explanation: Explanation | None) -> pl.DataFrame:
    schema = {
        "column": pl.Utf8,
        "stage": pl.Utf8,
        "group": pl.Utf8,
        "description": pl.Utf8,
        "value": pl.Float64,
        "contribution": pl.Float64,
    }
    if explanation is None or not explanation.contributions:
        return pl.DataFrame(schema=schema)
    rows = [
        {k: getattr(c, k) for k in schema} for c in explanation.contributions
    ]  # Contribution fields, largest |contribution| first
    return pl.DataFrame(rows, schema=schema)


def _drops(explanation: Explanation | None) -> pl.DataFrame:
    schema = {"start_s": pl.Float64, "end_s": pl.Float64, "logit_drop": pl.Float64}
    if explanation is None:
        return pl.DataFrame(schema=schema)
    rows = [
        (s.start_s, s.end_s, _finite(d))
        for s, d in zip(explanation.segments, explanation.segment_drops, strict=True)
    ]
    return pl.DataFrame(rows, schema=schema, orient="row")
