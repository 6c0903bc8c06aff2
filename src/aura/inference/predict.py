"""Score videos with a released detector: one row per video, bad files as status rows.

This is the one scoring loop behind the ``inference`` pipeline, ``aura predict`` and the served
MLflow model, so all three give the same numbers. Each video goes through
:func:`aura.inference.prepare.prepare_video` (the training-time decoding, scaling and feature
code) and :meth:`aura.release.Detector.score`; nothing of one video is kept after its row.
"""

from __future__ import annotations

import base64
import binascii
import logging
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from aura.inference.config import InferenceConfig
from aura.inference.inputs import VideoInputs
from aura.video import VideoDecodeError
from aura.video.errors import STATUS_OF_REASON

log = logging.getLogger(__name__)

SEGMENT = pl.Struct({"start_s": pl.Float64, "end_s": pl.Float64, "probability": pl.Float64})
#: ``inference_predictions``: one row per requested video, in request order.
SCHEMA: dict[str, pl.DataType] = {
    "path": pl.Utf8,
    "status": pl.Utf8,
    "error": pl.Utf8,
    "probability": pl.Float64,
    "label": pl.Utf8,
    "threshold": pl.Float64,
    "fold_spread": pl.Float64,
    "segments": pl.List(SEGMENT),
    "duration_s": pl.Float64,
    "model": pl.Utf8,
    "detector_version": pl.Utf8,
    "config_hash": pl.Utf8,
}


class RequestError(ValueError):
    """A request row that names no usable video (no path, bad base64, over the size cap)."""


@dataclass(frozen=True)
class VideoRequest:
    """One video to score: a server-side ``path`` or uploaded bytes (``video_b64``)."""

    name: str  # what the row's ``path`` column shows
    path: str | None = None
    data: bytes | None = None
    error: str | None = None  # why the request itself is unusable


def _records(table: Any) -> list[dict[str, Any]]:
    """Rows of a polars/pandas frame, a list of dicts or of paths."""
    if isinstance(table, pl.DataFrame):
        return table.to_dicts()
    if hasattr(table, "to_dict") and hasattr(table, "columns"):  # pandas
        return [dict(r) for r in table.to_dict(orient="records")]
    if isinstance(table, Mapping):
        return pl.DataFrame(dict(table)).to_dicts()
    return [r if isinstance(r, Mapping) else {"path": str(r)} for r in table]


def read_requests(table: Any, max_upload_mb: float) -> list[VideoRequest]:
    """Requests from a table with a ``path`` and/or ``video_b64`` column (optional ``name``).

    An upload larger than ``max_upload_mb`` (decoded) or not valid base64 becomes a request
    with an ``error``, so it gets its own status row.
    """
    out: list[VideoRequest] = []
    cap = int(max_upload_mb * 1024 * 1024)
    for i, row in enumerate(_records(table)):
        path, b64 = row.get("path"), row.get("video_b64")
        name = str(row.get("name") or path or f"upload_{i}")
        if isinstance(b64, str) and b64:
            # base64 is 4/3 of the payload: refuse before decoding a huge string
            if len(b64) * 3 // 4 > cap + 3:
                size = len(b64) * 3 / 4 / 2**20
                error = (
                    f"{name}: upload of {size:.1f} MiB exceeds inference.max_upload_mb="
                    f"{max_upload_mb:g}"
                )
                out.append(VideoRequest(name, error=error))
                continue
            try:
                data = base64.b64decode(b64, validate=True)
            except (binascii.Error, ValueError) as err:
                out.append(VideoRequest(name, error=f"{name}: video_b64 is not base64 ({err})"))
                continue
            out.append(VideoRequest(name, data=data))
        elif isinstance(path, str) and path:
            out.append(VideoRequest(name, path=path))
        else:
            out.append(VideoRequest(name, error=f"row {i}: needs a 'path' or a 'video_b64' value"))
    return out


def _row(detector: Any, name: str, **values: Any) -> dict[str, Any]:
    manifest = detector.manifest
    row: dict[str, Any] = dict.fromkeys(SCHEMA)
    row.update(
        path=name,
        model="+".join(manifest.models),
        detector_version=manifest.version,
        config_hash=manifest.config_hash,
        segments=[],
    )
    row.update(values)
    return row


def _failure(err: Exception) -> tuple[str, str]:
    if isinstance(err, VideoDecodeError):
        return STATUS_OF_REASON.get(err.reason, err.reason), str(err)
    if isinstance(err, RequestError):
        return "bad_request", str(err)
    return "error", f"{type(err).__name__}: {err}"


#: Called with (request, inputs, score) after each video is scored (explanations).
AfterScore = Callable[[VideoRequest, VideoInputs, Any], None]


def score_request(
    request: VideoRequest,
    detector: Any,
    config: InferenceConfig,
    *,
    after: AfterScore | None = None,
) -> dict[str, Any]:
    """One row of ``inference_predictions`` for ``request`` (never raises for a bad video)."""
    from aura.inference.prepare import prepare_video

    spec = detector.input_spec(config.segment_s, config.max_segments)
    try:
        if request.error:
            raise RequestError(request.error)
        with tempfile.TemporaryDirectory(prefix="aura-predict-", dir=config.workdir) as tmp:
            work = Path(tmp)
            path = request.path
            if request.data is not None:
                path = str(work / "upload.video")
                Path(path).write_bytes(request.data)
            assert path is not None
            video = prepare_video(path, spec, work)
            score = detector.score(video)
            if after is not None:
                after(request, video, score)
    except Exception as err:  # every failure is data: a status row naming the file
        status, error = _failure(err)
        if not error.startswith(request.name):
            error = f"{request.name}: {error}"
        log.warning("predict: %s", error)
        return _row(detector, request.name, status=status, error=error)
    segments = [
        {"start_s": s.start_s, "end_s": s.end_s, "probability": float(p)}
        for s, p in zip(video.segments, score.segment_probabilities, strict=True)
    ]
    return _row(
        detector,
        request.name,
        status="ok",
        probability=float(score.probability),
        label=score.label,
        threshold=float(score.threshold),
        fold_spread=score.fold_spread,
        segments=segments,
        duration_s=float(video.duration_s),
    )


def predict_videos(
    requests: Sequence[VideoRequest],
    detector: Any,
    config: InferenceConfig,
    *,
    progress: bool = False,
    after: AfterScore | None = None,
) -> pl.DataFrame:
    """``inference_predictions`` for ``requests``, in order (see :data:`SCHEMA`)."""
    items: Iterable[VideoRequest] = requests
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(requests, desc="scoring", unit="video")
    rows = [score_request(r, detector, config, after=after) for r in items]
    ok = sum(r["status"] == "ok" for r in rows)
    log.info("predict: %d videos scored, %d failed", ok, len(rows) - ok)
    return pl.DataFrame(rows, schema=SCHEMA) if rows else pl.DataFrame(schema=SCHEMA)


def records(table: pl.DataFrame) -> list[dict[str, Any]]:
    """The table as JSON-ready records (what the pipeline, the server and ``--out x.json`` give)."""
    return table.to_dicts()
