"""Shared test set-up: offline, no telemetry, and where the real FVC annotation files live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def fvc_dir() -> Path:
    """The real FVC annotation CSVs (``$AURA_FVC_DIR`` or ``../shared/fvc`` beside the repo)."""
    path = Path(os.environ.get("AURA_FVC_DIR", REPO.parent / "shared" / "fvc"))
    if not (path / "FVC.csv").is_file():
        pytest.skip(f"real FVC annotation files not found in {path} (set AURA_FVC_DIR)")
    return path
