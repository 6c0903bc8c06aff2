"""Read corpus annotations (FVC CSVs or a user manifest) into one table of rows with a status.

Every annotation row survives as a row: problems (bad URL, excluded label, conflicting labels,
duplicate ids) are recorded in ``status``/``error``, never dropped.
"""

from __future__ import annotations

import csv
import logging
import re
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar, Literal
from urllib.parse import parse_qs, urlparse

import polars as pl

from aura.config import Section
from aura.corpus.ids import encode_path

log = logging.getLogger(__name__)

#: Statuses written by annotation parsing; probing adds the video ones (see ``aura.corpus.status``).
OK = "ok"
BAD_ROW = "bad_row"
BAD_URL = "bad_url"
LABEL_EXCLUDED = "label_excluded"
LABEL_CONFLICT = "label_conflict"
DUPLICATE = "duplicate"
OUTSIDE_ROOT = "outside_root"

BINARY_LABELS = ("real", "fake")
#: FVC's extra repost labels; the ``corpus.extra_labels`` parameter maps each to real, fake or exclude.
EXTRA_LABELS = ("uncertain", "debunked", "parody")


class ExtraLabels(Section):
    """``corpus.extra_labels``: each of FVC's extra repost labels → ``real``, ``fake`` or
    ``exclude`` (excluded rows stay in ``video_index`` as ``label_excluded``)."""

    PREFIX: ClassVar[str] = "corpus.extra_labels"

    uncertain: Literal["real", "fake", "exclude"] = "exclude"
    debunked: Literal["real", "fake", "exclude"] = "exclude"
    parody: Literal["real", "fake", "exclude"] = "exclude"


FVC_COLUMNS = ("cascade_id", "video_url", "label")

ANNOTATION_SCHEMA = {
    "video_id": pl.String,
    "platform": pl.String,
    "url": pl.String,
    "cascade_id": pl.String,
    "label": pl.String,
    "label_raw": pl.String,
    "source": pl.String,
    "row": pl.Int64,
    "path": pl.String,
    "status": pl.String,
    "error": pl.String,
}

_YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_DIGITS = re.compile(r"^\d{5,25}$")


def parse_video_url(url: str) -> tuple[str, str]:
    """Return ``(platform, video_id)`` for a YouTube, Facebook or Twitter video URL.

    Raises:
        ValueError: the URL is not one of the supported shapes.
    """
    parsed = urlparse(url.strip())
    host = (parsed.hostname or "").lower().removeprefix("www.").removeprefix("m.")
    parts = [p for p in parsed.path.split("/") if p]
    if host in {"youtube.com", "youtu.be"}:
        vid = parse_qs(parsed.query).get("v", [""])[0] if host == "youtube.com" else ""
        if host == "youtu.be" and parts:
            vid = parts[0]
        if (
            host == "youtube.com"
            and not vid
            and len(parts) >= 2
            and parts[0] in {"shorts", "embed"}
        ):
            vid = parts[1]
        if _YOUTUBE_ID.match(vid):
            return "youtube", vid
    elif host in {"facebook.com", "fb.watch"}:
        if "videos" in parts:
            ids = [p for p in parts[parts.index("videos") + 1 :] if _DIGITS.match(p)]
            if ids:
                return "facebook", ids[-1]
        vid = parse_qs(parsed.query).get("v", [""])[0]
        if _DIGITS.match(vid):
            return "facebook", vid
    elif host in {"twitter.com", "x.com", "mobile.twitter.com"}:
        if "status" in parts:
            i = parts.index("status")
            if i + 1 < len(parts) and _DIGITS.match(parts[i + 1]):
                return "twitter", parts[i + 1]
    raise ValueError(
        f"unsupported video URL {url!r} (expected YouTube v=, Facebook /videos/<id>, Twitter /status/<id>)"
    )


def map_label(raw: str, extra_labels: ExtraLabels) -> str | None:
    """Map an FVC label to ``real``/``fake``; ``None`` means excluded.

    Raises:
        ValueError: the label is unknown.
    """
    label = raw.strip().lower()
    if label in BINARY_LABELS:
        return label
    if label in EXTRA_LABELS:
        target = getattr(extra_labels, label)
        return None if target == "exclude" else target
    raise ValueError(f"unknown label {raw!r}")


def _row(source: str, line: int, **values: object) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(ANNOTATION_SCHEMA)
    row.update(source=source, row=line, status=OK)
    row.update(values)
    return row


def read_fvc_csv(
    path: Path, extra_labels: ExtraLabels | Mapping[str, str] | None = None
) -> list[dict[str, object]]:
    """Parse one FVC annotation file (``cascade_id,video_url,label``) into annotation rows.

    Raises:
        ValueError: the file lacks the FVC columns (names the file and the columns found), or
            ``extra_labels`` is not a valid ``corpus.extra_labels`` block (names the key).
    """
    labels = ExtraLabels.from_params(extra_labels)
    rows: list[dict[str, object]] = []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in FVC_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing columns {missing}; found {reader.fieldnames}")
        for record in reader:
            line = reader.line_num
            url = (record.get("video_url") or "").strip()
            raw = (record.get("label") or "").strip()
            row = _row(
                path.name,
                line,
                url=url,
                cascade_id=(record.get("cascade_id") or "").strip(),
                label_raw=raw,
            )
            if not url or not row["cascade_id"] or not raw:
                row.update(
                    status=BAD_ROW,
                    error=f"{path.name}:{line}: empty cascade_id, video_url or label",
                )
                rows.append(row)
                continue
            try:
                row["platform"], row["video_id"] = parse_video_url(url)
            except ValueError as exc:
                row.update(status=BAD_URL, error=f"{path.name}:{line}: {exc}")
                rows.append(row)
                continue
            try:
                row["label"] = map_label(raw, labels)
            except ValueError as exc:
                row.update(status=BAD_ROW, error=f"{path.name}:{line}: {exc}")
                rows.append(row)
                continue
            if row["label"] is None:
                row.update(
                    status=LABEL_EXCLUDED, error=f"label {raw!r} excluded by corpus.extra_labels"
                )
            rows.append(row)
    if not rows:
        _warn_empty(path)
    return rows


def read_manifest(path: Path, allow_outside_root: bool = False) -> list[dict[str, object]]:
    """Parse a user manifest CSV ``path,label[,group]``; paths are relative to the manifest.

    The video id encodes the file's real path relative to the manifest folder (symlinks
    resolved; see :func:`aura.corpus.ids.encode_path`), so two files never share an id and only
    a true repeat of one file is a duplicate. ``group`` becomes the cascade id (default: the
    video id). A path resolving outside the manifest folder is ``outside_root`` (never opened)
    unless ``allow_outside_root`` (``corpus.allow_outside_root``).
    """
    root = path.parent.resolve()
    rows: list[dict[str, object]] = []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ("path", "label") if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(
                f"{path}: manifest needs columns path,label[,group]; missing {missing}"
            )
        for record in reader:
            line = reader.line_num
            rows.append(_manifest_row(path, root, line, record, allow_outside_root))
    if not rows:
        _warn_empty(path)
    return rows


def _manifest_row(
    manifest: Path, root: Path, line: int, record: dict[str, str | None], allow_outside: bool
) -> dict[str, object]:
    rel = (record.get("path") or "").strip()
    raw = (record.get("label") or "").strip()
    where = f"{manifest.name}:{line}"
    row = _row(manifest.name, line, label_raw=raw, platform="local")
    if not rel or not raw:
        row.update(status=BAD_ROW, error=f"{where}: empty path or label")
        return row
    try:
        video = (root / rel).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # NUL byte, symlink loop
        row.update(status=BAD_ROW, error=f"{where}: unusable path {rel!r}: {exc}")
        return row
    inside = video.is_relative_to(root)
    row["video_id"] = encode_path(video.relative_to(root).as_posix() if inside else str(video))
    row["url"] = video.as_uri()
    row["cascade_id"] = (record.get("group") or "").strip() or row["video_id"]
    if not inside and not allow_outside:
        row.update(
            status=OUTSIDE_ROOT,
            error=(
                f"{where}: path {rel!r} resolves to {video}, outside the manifest folder {root}; "
                "set corpus.allow_outside_root: true to read files there"
            ),
        )
        return row
    row["path"] = str(video)
    label = raw.lower()
    if label not in BINARY_LABELS:
        row.update(status=BAD_ROW, error=f"{where}: label {raw!r} is not real or fake")
    else:
        row["label"] = label
    return row


def _warn_empty(path: Path) -> None:
    log.warning("%s has a header but no data rows: it adds no video to the index", path)


def flag_duplicates(rows: list[dict[str, object]]) -> None:
    """Mark repeated video ids in place.

    If the rows of one id disagree on the raw label, all of them become ``label_conflict``.
    Otherwise the first stays as it is and later ones become ``duplicate`` naming the first.
    """
    by_id: dict[str, list[dict[str, object]]] = defaultdict(list)
    for row in rows:
        if row["video_id"] and row["status"] not in (BAD_ROW, BAD_URL, OUTSIDE_ROOT):
            by_id[str(row["video_id"])].append(row)
    for vid, same in by_id.items():
        if len(same) < 2:
            continue
        labels = sorted({str(r["label_raw"]).lower() for r in same})
        where = ", ".join(
            f"{r['source']}:{r['row']} ({r['cascade_id']}, {r['label_raw']})" for r in same
        )
        if len(labels) > 1:
            for r in same:
                r.update(
                    status=LABEL_CONFLICT,
                    error=f"video {vid} has conflicting labels {labels}: {where}",
                )
            continue
        first = same[0]
        for r in same[1:]:
            r.update(
                status=DUPLICATE,
                error=f"duplicate of {first['source']}:{first['row']} (cascade {first['cascade_id']})",
            )


def group_ids(rows: list[dict[str, object]]) -> dict[str, str]:
    """Merge cascades that share a video into one CV group (union-find); cascade → group id.

    FVC lists a few videos in two cascades (e.g. f144 and f145); splitting those cascades
    across folds would leak the shared video, so they form one group named by the smallest id.
    """
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first_cascade: dict[str, str] = {}
    for row in rows:
        cascade = row["cascade_id"]
        if not cascade:
            continue
        find(str(cascade))
        vid = row["video_id"]
        if vid:
            other = first_cascade.setdefault(str(vid), str(cascade))
            a, b = find(other), find(str(cascade))
            if a != b:
                parent[max(a, b)] = min(a, b)
    return {c: find(c) for c in parent}


def to_frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    """Annotation rows → a typed polars frame with a ``group_id`` column."""
    groups = group_ids(rows)
    frame = pl.DataFrame(rows, schema=ANNOTATION_SCHEMA, orient="row")
    return frame.with_columns(
        pl.col("cascade_id").replace_strict(groups, default=pl.col("cascade_id")).alias("group_id")
    )
