"""What ``aura predict`` does besides scoring: find the videos, find the detector, write results.

Scoring itself is :func:`aura.inference.predict.predict_videos`, the loop the ``inference``
pipeline and the served MLflow model run.
"""

from __future__ import annotations

import csv
import json
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

import polars as pl

from aura.inference.predict import VideoRequest

OUT_SUFFIXES = (".json", ".csv", ".parquet")


class PredictError(Exception):
    """A usage problem ``aura predict`` reports without a traceback."""


def _manifest(path: Path) -> list[str]:
    """Paths of a manifest CSV (column ``path``; relative paths are relative to the CSV)."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or "path" not in reader.fieldnames:
            raise PredictError(f"{path}: a manifest CSV needs a 'path' column")
        rows = [r["path"] for r in reader if (r.get("path") or "").strip()]
    return [p if Path(p).is_absolute() else str(path.parent / p) for p in rows]


def collect_paths(args: Sequence[str], stdin: TextIO | None = None) -> list[str]:
    """Files as given; folders expanded recursively (sorted, hidden entries skipped); a ``.csv``
    argument read as a manifest; ``-`` reads one path per line from ``stdin``.

    A path that does not exist is kept: it gets a ``missing_file`` row like any bad video.
    """
    out: list[str] = []
    for arg in args:
        if arg == "-":
            lines = (stdin or sys.stdin).read().splitlines()
            out.extend(line.strip() for line in lines if line.strip())
            continue
        path = Path(arg)
        if path.is_dir():
            out.extend(
                str(p)
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.suffix.lower() == ".csv" and path.is_file():
            out.extend(_manifest(path))
        else:
            out.append(arg)
    return out


def _find_manifest(root: Path) -> Path | None:
    found = sorted(root.rglob("manifest.json"))
    return found[0].parent if found else None


def resolve_detector(ref: str | None, project: Path = Path(".")) -> Path:
    """The detector folder: a folder as given, an MLflow ``runs:/`` or ``models:/`` URI
    (downloaded; the detector is the logged model's artifact), or by default the newest
    released detector under ``data/06_models/detector``."""
    from aura.release import latest_detector, newest_release

    if ref is None:
        found = latest_detector(project)
        if found is None:
            raise PredictError(
                f"no released detector in {project.resolve()}; run `make run` "
                "(or `kedro run`) first, or pass --detector DIR|runs:/…|models:/…"
            )
        return found
    if ref.startswith(("runs:/", "models:/", "mlflow-artifacts:/")):
        import mlflow

        dest = Path(tempfile.mkdtemp(prefix="aura-detector-"))
        try:
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=ref, dst_path=str(dest)))
        except Exception as err:
            raise PredictError(f"--detector {ref}: cannot download it from MLflow ({err})") from err
        found = _find_manifest(local)
        if found is None:
            raise PredictError(f"--detector {ref}: the MLflow model holds no detector manifest")
        return found
    path = Path(ref)
    if not path.exists():
        raise PredictError(f"--detector {ref}: no such folder")
    if (path / "manifest.json").is_file():
        return path
    found = newest_release(path)
    if found is None:
        raise PredictError(f"--detector {ref}: no detector (manifest.json) in it")
    return found


def write_output(table: pl.DataFrame, out: Path) -> None:
    """``.json`` (records, segments nested), ``.csv`` (segments as a JSON string) or ``.parquet``."""
    suffix = out.suffix.lower()
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".json":
        out.write_text(json.dumps(table.to_dicts(), indent=2) + "\n", encoding="utf-8")
    elif suffix == ".csv":
        flat = table.with_columns(
            pl.Series("segments", [json.dumps(s) for s in table["segments"].to_list()], pl.Utf8)
        )
        flat.write_csv(out)
    elif suffix == ".parquet":
        table.write_parquet(out)
    else:
        raise PredictError(f"--out {out}: use a .json, .csv or .parquet file")


def render_table(table: pl.DataFrame) -> str:
    """A readable fixed-width table: file, status, probability, label, fold spread, top segment."""
    rows: list[tuple[str, ...]] = [("file", "status", "p(fake)", "label", "spread", "peak segment")]
    for r in table.iter_rows(named=True):
        segs = r["segments"] or []
        peak = max(segs, key=lambda s: s["probability"], default=None)
        rows.append(
            (
                _short(r["path"]),
                r["status"],
                "" if r["probability"] is None else f"{r['probability']:.3f}",
                r["label"] or "",
                "" if r["fold_spread"] is None else f"{r['fold_spread']:.3f}",
                ""
                if peak is None
                else f"{peak['start_s']:.1f}-{peak['end_s']:.1f}s {peak['probability']:.2f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def _short(path: str, width: int = 48) -> str:
    return path if len(path) <= width else "…" + path[-(width - 1) :]


def requests_for(paths: Iterable[str]) -> list[VideoRequest]:
    return [VideoRequest(name=p, path=p) for p in paths]


def failed(table: pl.DataFrame) -> int:
    return int((table["status"] != "ok").sum())


def summary(table: pl.DataFrame) -> dict[str, Any]:
    counts = table.group_by("status").len().sort("status")
    return dict(zip(counts["status"].to_list(), counts["len"].to_list(), strict=True))
