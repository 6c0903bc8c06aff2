"""Container and probe metadata as ``meta_`` columns: the inputs of the ``metadata`` audit model.

These are not forensic features: they say how a file was packaged (size, rate, codec, audio),
not what its pixels show. The ``metadata`` model (:mod:`aura.models.baselines`) reads only
these columns, to measure how much of a score metadata alone could explain; the forensic
baselines never read them (:func:`aura.features.table.feature_columns` skips the prefix).

One function, :func:`metadata_row`, turns probe facts into the columns, for training (the
``video_index`` probe of an original, a probe of a variant's own file) and inference (the
probe of the video being scored) alike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

import polars as pl

from aura.features.codec import CODECS, codec_family
from aura.video.letterbox import letterbox_geometry
from aura.video.probe import VideoInfo

META_PREFIX = "meta_"
#: The codec one-hot vocabulary: fixed, so an unseen codec falls into ``other``.
META_CODECS = (*CODECS, "other")
#: The :class:`~aura.video.probe.VideoInfo` fields (and ``video_index`` columns) read.
PROBE_KEYS = (
    "width",
    "height",
    "rotation",
    "fps",
    "duration_s",
    "codec",
    "bit_rate",
    "size_bytes",
    "has_audio",
)
#: Column (without the prefix) → what it holds.
METADATA: dict[str, str] = {
    "width": "display width in pixels (after rotation)",
    "height": "display height in pixels (after rotation)",
    "aspect": "display width / height",
    "fps": "average frame rate (frames/s)",
    "duration_s": "duration in seconds",
    "bit_rate": "video bit rate in bits/s (stream, else container, else size*8/duration)",
    **{f"codec_{c}": f"1.0 if the codec family is {c}, else 0.0" for c in META_CODECS},
    "has_audio": "1.0 if the file has an audio stream, else 0.0",
    "padding": "fraction of the stage-3 letterboxed square that is padding",
}
META_COLUMNS = tuple(META_PREFIX + k for k in METADATA)


def is_meta_column(column: str) -> bool:
    """True for a metadata column (``meta_*``)."""
    return column.startswith(META_PREFIX)


def meta_columns(table: pl.DataFrame) -> list[str]:
    """The metadata columns of ``table``, in table order."""
    return [c for c in table.columns if is_meta_column(c)]


def probe_facts(info: VideoInfo) -> dict[str, Any]:
    """The :data:`PROBE_KEYS` of a probe, as ``video_index`` stores them."""
    facts = asdict(info)
    return {k: facts[k] for k in PROBE_KEYS}


def _number(value: Any) -> float:
    if value is None:
        return math.nan
    x = float(value)
    return x if math.isfinite(x) else math.nan


def padding_fraction(width: int, height: int, size: int) -> float:
    """Share of the ``size`` x ``size`` letterboxed square (stage 3) that is padding."""
    new_w, new_h, *_ = letterbox_geometry(width, height, size)
    return 1.0 - new_w * new_h / (size * size)


def metadata_row(facts: Mapping[str, Any] | None, *, target_size: int) -> dict[str, float]:
    """The :data:`META_COLUMNS` of one video from its probe ``facts`` (:data:`PROBE_KEYS`;
    a missing key or ``None`` is unknown → NaN; ``facts=None``: every value NaN).

    ``target_size`` is ``scaling.target_size``, the side of the stage-3 square the padding
    share refers to.
    """
    out = dict.fromkeys(META_COLUMNS, math.nan)
    if facts is None:
        return out
    w, h = _number(facts.get("width")), _number(facts.get("height"))
    if int(facts.get("rotation") or 0) in (90, 270):
        w, h = h, w
    duration = _number(facts.get("duration_s"))
    duration = duration if duration > 0 else math.nan
    rate = _number(facts.get("bit_rate")) or math.nan
    if math.isnan(rate):
        rate = _number(facts.get("size_bytes")) * 8.0 / duration
    fps = _number(facts.get("fps"))
    codec = facts.get("codec")
    audio = facts.get("has_audio")
    row = {
        "width": w,
        "height": h,
        "aspect": w / h if h > 0 else math.nan,
        "fps": fps if fps > 0 else math.nan,
        "duration_s": duration,
        "bit_rate": rate if rate > 0 else math.nan,
        "has_audio": math.nan if audio is None else float(bool(audio)),
        "padding": padding_fraction(int(w), int(h), target_size) if w >= 1 and h >= 1 else math.nan,
    }
    if codec is not None:
        family = codec_family(str(codec))
        row.update({f"codec_{c}": float(family == c) for c in META_CODECS})
    out.update({META_PREFIX + k: float(v) for k, v in row.items()})
    return out


def metadata_table(
    video_ids: Sequence[str],
    facts: Sequence[Mapping[str, Any] | None],
    *,
    target_size: int,
) -> pl.DataFrame:
    """``video_id`` and the :data:`META_COLUMNS` (Float64, NaN where unknown), one row per id."""
    if len(video_ids) != len(facts):
        raise ValueError(f"{len(video_ids)} video ids for {len(facts)} probe rows")
    rows = [metadata_row(f, target_size=target_size) for f in facts]
    cols = {c: pl.Series(c, [r[c] for r in rows], pl.Float64) for c in META_COLUMNS}
    return pl.DataFrame([pl.Series("video_id", list(video_ids), pl.String), *cols.values()])
