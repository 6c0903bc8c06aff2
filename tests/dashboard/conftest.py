"""The dashboard tests' shared set-up: the finished demo run's snapshot, and what the
pipelines wrote there, read straight from the files (not through the dashboard's code)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from aura.dashboard.settings import ENV_VAR, PROJECT_VAR, UPLOAD_VAR
from tests.conftest import aura_cli


def newest(dataset_dir: Path) -> Path:
    """The newest version's file of a versioned dataset folder."""
    versions = sorted(p for p in dataset_dir.iterdir() if p.is_dir())
    assert versions, f"no version under {dataset_dir}"
    return versions[-1] / dataset_dir.name


@pytest.fixture(scope="module")
def dashboard_project(demo_snapshot: Path) -> Iterator[Path]:
    """The snapshot as the dashboard's project, the working folder set to it as ``aura
    dashboard`` does (the project's MLflow store is ``sqlite:///mlflow.db``, relative)."""
    import mlflow

    mp = pytest.MonkeyPatch()
    mp.setenv(PROJECT_VAR, str(demo_snapshot))
    mp.delenv(ENV_VAR, raising=False)
    mp.delenv(UPLOAD_VAR, raising=False)
    mp.chdir(demo_snapshot)
    pythonpath = os.environ.get("PYTHONPATH")  # bootstrap_project adds the project's src/
    yield demo_snapshot
    mp.undo()
    if pythonpath is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = pythonpath
    mlflow.set_tracking_uri("")  # kedro-mlflow's hook set the project's store globally


def cv_predictions(project: Path) -> pl.DataFrame:
    return pl.read_ipc(newest(project / "data/07_model_output/cv_predictions.arrow"))


def video_index(project: Path) -> pl.DataFrame:
    return pl.read_ipc(newest(project / "data/03_primary/video_index.arrow"))


def detector_folder(project: Path) -> Path:
    return newest(project / "data/06_models/detector")


def first_ok_video(project: Path) -> Path:
    """The first ingested original (by video id) of the project."""
    ok = video_index(project).filter(pl.col("status") == "ok").sort("video_id")
    return Path(ok["path"][0])


def predict(path: Path, detector: Path, out: Path) -> dict:
    """``aura predict PATH --detector DIR --out OUT.json``: the one record."""
    result = aura_cli("predict", path, "--detector", detector, "--out", out, "--no-progress")
    assert result.exit_code == 0, result.output
    (row,) = json.loads(out.read_text())
    return row
