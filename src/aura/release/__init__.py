"""Releasing a detector: members from the cross-validation run, calibration and threshold
fitted on out-of-fold predictions, a JSON manifest, and safe (no pickle) storage."""

from __future__ import annotations

from pathlib import Path

from aura.release.calibration import Calibration, fit_calibration
from aura.release.detector import (
    Detector,
    DetectorError,
    DetectorManifest,
    DetectorScore,
    Member,
    MemberFile,
    load_detector,
    save_detector,
)
from aura.release.threshold import choose_threshold, parse_rule

#: Where the ``detector`` catalog entry keeps its versions (conf/base/catalog.yml).
DETECTOR_PATH = "data/06_models/detector"


def _catalog_path(project: Path) -> str:
    """``detector.filepath`` of ``conf/base/catalog.yml``, else :data:`DETECTOR_PATH`."""
    import yaml

    catalog = project / "conf" / "base" / "catalog.yml"
    try:
        entry = (yaml.safe_load(catalog.read_text()) or {}).get("detector") or {}
    except (OSError, yaml.YAMLError):
        return DETECTOR_PATH
    path = entry.get("filepath") if isinstance(entry, dict) else None
    return path if isinstance(path, str) and "${" not in path else DETECTOR_PATH


def newest_release(base: str | Path) -> Path | None:
    """The newest ``<base>/<version>/<base name>`` folder holding a manifest, or ``None``."""
    base = Path(base)
    if not base.is_dir():
        return None
    found = sorted(
        (v / base.name for v in base.iterdir() if (v / base.name / "manifest.json").is_file()),
        key=lambda p: p.parent.name,
    )
    return found[-1] if found else None


def latest_detector(project_path: str | Path) -> Path | None:
    """The newest released detector folder of the project (``<filepath>/<version>/<name>``
    holding a manifest), or ``None`` when nothing was released yet."""
    project = Path(project_path)
    base = Path(_catalog_path(project))
    return newest_release(base if base.is_absolute() else project / base)


__all__ = [
    "DETECTOR_PATH",
    "Calibration",
    "Detector",
    "DetectorError",
    "DetectorManifest",
    "DetectorScore",
    "Member",
    "MemberFile",
    "choose_threshold",
    "fit_calibration",
    "latest_detector",
    "newest_release",
    "load_detector",
    "parse_rule",
    "save_detector",
]
