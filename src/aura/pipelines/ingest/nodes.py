"""Ingest nodes: thin wrappers over ``aura.corpus`` and ``aura.video.probe``."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl
from tqdm.auto import tqdm

from aura.corpus import annotations as ann
from aura.corpus.locate import index_files, pick
from aura.pipelines.config import CorpusConfig, IngestConfig
from aura.video import VideoDecodeError, probe
from aura.video.errors import STATUS_OF_REASON

log = logging.getLogger(__name__)

#: ``VideoDecodeError.reason`` → ``video_index.status``.
PROBE_STATUS = STATUS_OF_REASON
#: The ``video_index`` contract columns (ARCHITECTURE.md), in this order; extras follow.
INDEX_COLUMNS = [
    "video_id",
    "platform",
    "url",
    "cascade_id",
    "label",
    "label_raw",
    "path",
    "status",
    "error",
    "width",
    "height",
    "fps",
    "n_frames",
    "duration_s",
    "codec",
    "bit_rate",
    "rotation",
    "target",
    "group_id",
    "has_audio",
    "size_bytes",
]
PROBE_SCHEMA = {
    "width": pl.Int64,
    "height": pl.Int64,
    "fps": pl.Float64,
    "n_frames": pl.Int64,
    "duration_s": pl.Float64,
    "codec": pl.String,
    "bit_rate": pl.Int64,
    "rotation": pl.Int64,
    "has_audio": pl.Boolean,
    "size_bytes": pl.Int64,
    # n_frames counts the packets really there; the header's claim is kept beside it.
    "n_frames_source": pl.String,
    "n_frames_header": pl.Int64,
}


def materialise_corpus(corpus: CorpusConfig | Mapping[str, Any]) -> dict[str, Any]:
    """Check the corpus parameters and, for ``kind: demo``, generate the demo corpus if needed.

    Returns a spec: ``kind``, absolute ``root``, ``videos_dir``, and ``annotation_files`` or
    ``manifest``. Raises ``ValueError`` naming the parameter key when the config is unusable.
    """
    config = CorpusConfig.from_params(corpus)
    kind = config.kind
    root = Path(config.root).expanduser().resolve()
    if kind == "demo":
        from aura.corpus.demo import generate_demo_corpus

        generate_demo_corpus(root, config.demo)
    if kind == "manifest":
        manifest = Path(config.manifest or root / "manifest.csv").expanduser().resolve()
        if root.suffix.lower() == ".csv":
            manifest, root = root, root.parent
        if not manifest.is_file():
            raise ValueError(
                f"corpus.manifest: {manifest} does not exist (CSV with columns path,label[,group])"
            )
        return {"kind": kind, "root": str(root), "manifest": str(manifest), "videos_dir": str(root)}
    if not root.is_dir():
        raise ValueError(f"corpus.root={root} is not a folder (kind={kind})")
    names = list(config.annotation_files)
    files = [root / n for n in names if (root / n).is_file()]
    if not files:
        raise ValueError(
            f"corpus.root={root}: none of corpus.annotation_files {names} exists there"
        )
    for name in names:
        if not (root / name).is_file():
            log.warning(
                "corpus: %s not found in %s, reading %s only", name, root, [f.name for f in files]
            )
    videos_dir = root / "videos"
    if not videos_dir.is_dir():
        log.warning("corpus: %s has no videos/ folder; every row will be missing_file", root)
    return {
        "kind": kind,
        "root": str(root),
        "annotation_files": [str(f) for f in files],
        "videos_dir": str(videos_dir),
    }


def read_annotations(
    spec: dict[str, Any], corpus: CorpusConfig | Mapping[str, Any]
) -> pl.DataFrame:
    """Parse annotation rows, flag duplicates/conflicts, and attach each row's file path."""
    config = CorpusConfig.from_params(corpus)
    if spec["kind"] == "manifest":
        rows = ann.read_manifest(
            Path(spec["manifest"]), allow_outside_root=config.allow_outside_root
        )
    else:
        extra = config.extra_labels
        rows = [r for f in spec["annotation_files"] for r in ann.read_fvc_csv(Path(f), extra)]
        files = index_files(Path(spec["videos_dir"]))
        for row in rows:
            if row["video_id"] and row["video_id"] in files:
                row["path"] = str(pick(files[str(row["video_id"])]))
    ann.flag_duplicates(rows)
    frame = ann.to_frame(rows)
    log.info(
        "annotations: %d rows from %s (%s)", frame.height, spec["root"], _counts(frame["status"])
    )
    return frame


def _probe_row(row: dict[str, Any], verify: bool, max_pixels: int | None) -> dict[str, Any]:
    out: dict[str, Any] = dict.fromkeys(PROBE_SCHEMA)
    if not row["path"]:
        out.update(
            status="missing_file",
            error=f"no file named {row['video_id']}.* found under the corpus videos folder",
        )
        return out
    try:
        info = probe(row["path"], verify=verify, max_pixels=max_pixels)
    except VideoDecodeError as exc:
        out.update(status=PROBE_STATUS.get(exc.reason, exc.reason), error=str(exc))
        return out
    out.update({k: getattr(info, k) for k in PROBE_SCHEMA}, status="ok", error=None)
    return out


def build_video_index(
    annotations: pl.DataFrame, ingest: IngestConfig | Mapping[str, Any]
) -> pl.DataFrame:
    """Probe every row still ``ok`` after annotation checks; record failures as statuses.

    Rows that failed earlier keep their status and get empty probe columns. The result has
    one row per annotation row, in annotation order. ``n_frames`` is counted from the
    packets, ``n_frames_header`` is the container's claim (they differ for AVI drop frames
    and cut files; neither makes a video corrupt). A frame above ``ingest.max_pixels``
    gives ``too_large`` before anything is decoded.
    """
    config = IngestConfig.from_params(ingest)
    rows = annotations.to_dicts()
    todo = [i for i, r in enumerate(rows) if r["status"] == ann.OK]
    probed: dict[int, dict[str, Any]] = {}
    for i in tqdm(todo, desc="probe videos", unit="video", disable=not config.progress):
        probed[i] = _probe_row(rows[i], config.verify_decode, config.max_pixels)
    records = []
    for i, row in enumerate(rows):
        result = probed.get(i, dict.fromkeys(PROBE_SCHEMA))
        status, error = result.pop("status", row["status"]), result.pop("error", row["error"])
        records.append({**row, **result, "status": status, "error": error})
    schema = {**annotations.schema, **PROBE_SCHEMA}
    index = pl.DataFrame(records, schema=schema, orient="row").with_columns(
        pl.col("label")
        .replace_strict({"real": 0, "fake": 1}, default=None, return_dtype=pl.Int8)
        .alias("target")
    )
    index = index.select(INDEX_COLUMNS + [c for c in index.columns if c not in INDEX_COLUMNS])
    counts = _counts(index["status"])
    log.info("video_index: %d rows, %s", index.height, counts)
    miscounted = index.filter(
        pl.col("n_frames_header").is_not_null() & (pl.col("n_frames_header") != pl.col("n_frames"))
    )
    if miscounted.height:
        log.info(
            "video_index: %d videos whose header miscounts frames (kept with the frames really "
            "there; see n_frames_header), e.g. %s",
            miscounted.height,
            ", ".join(miscounted["video_id"].head(5).cast(pl.String).fill_null("?").to_list()),
        )
    for row in index.filter(pl.col("status") != "ok").head(20).iter_rows(named=True):
        log.info("  %s %s: %s", row["status"], row["video_id"] or row["url"], row["error"])
    return index


def _counts(status: pl.Series) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(Counter(status.to_list()).items()))
