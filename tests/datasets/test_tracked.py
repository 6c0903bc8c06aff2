"""VersionedArtifactDataset: Kedro's run-wide save version on disk, the file logged to MLflow."""

from __future__ import annotations

import subprocess
from pathlib import Path

import mlflow
import pytest
from kedro.io import DataCatalog, Version

from aura.datasets import VersionedArtifactDataset
from aura.tracking import config_hash, git_commit

SAVE = "2026-01-02T03.04.05.678Z"


def test_saves_under_the_given_version_and_logs_the_file(tmp_path: Path, tracking) -> None:
    ds = VersionedArtifactDataset(
        dataset={"type": "pickle.PickleDataset", "filepath": str(tmp_path / "model.pkl")},
        artifact_path="models/svm",
        version=Version(None, SAVE),
    )
    ds.save({"weights": [1, 2, 3]})
    assert (tmp_path / "model.pkl" / SAVE / "model.pkl").is_file()
    assert ds.load() == {"weights": [1, 2, 3]}
    logged = [
        a.path for a in mlflow.MlflowClient().list_artifacts(tracking.info.run_id, "models/svm")
    ]
    assert logged == ["models/svm/model.pkl"]


def test_catalog_entries_share_the_run_save_version(tmp_path: Path, tracking) -> None:
    """The bare kedro-mlflow wrapper around a versioned dataset draws its own timestamp and the
    catalog refuses it; this wrapper takes the catalog's."""
    config = {
        f"{name}": {
            "type": "aura.datasets.VersionedArtifactDataset",
            "versioned": True,
            "artifact_path": "tables",
            "dataset": {"type": "text.TextDataset", "filepath": str(tmp_path / f"{name}.txt")},
        }
        for name in ("a", "b")
    }
    catalog = DataCatalog.from_config(config, save_version=SAVE)
    catalog.save("a", "first")
    catalog.save("b", "second")
    assert (tmp_path / "a.txt" / SAVE / "a.txt").read_text() == "first"
    assert (tmp_path / "b.txt" / SAVE / "b.txt").read_text() == "second"
    assert catalog.load("b") == "second"
    logged = mlflow.MlflowClient().list_artifacts(tracking.info.run_id, "tables")
    assert sorted(a.path for a in logged) == ["tables/a.txt", "tables/b.txt"]


def test_unversioned_entry_saves_in_place(tmp_path: Path, tracking) -> None:
    ds = VersionedArtifactDataset(
        dataset={"type": "text.TextDataset", "filepath": str(tmp_path / "r.html")},
        artifact_path="report",
    )
    ds.save("<p>hi</p>")
    assert (tmp_path / "r.html").read_text() == "<p>hi</p>"


def test_config_hash_is_canonical() -> None:
    a = {"training": {"n_folds": 5, "models": ["svm"]}, "seed": 0}
    b = {"seed": 0, "training": {"models": ["svm"], "n_folds": 5}}
    assert config_hash(a) == config_hash(b)
    assert len(config_hash(a)) == 12
    assert config_hash(a) != config_hash({**a, "seed": 1})


def test_git_commit(tmp_path: Path) -> None:
    assert git_commit(tmp_path) is None  # not a repository
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "f.txt").write_text("1")
    subprocess.run([*git, "add", "f.txt"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=tmp_path, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert git_commit(tmp_path) == head
    (tmp_path / "f.txt").write_text("2")
    assert git_commit(tmp_path) == f"{head}-dirty"


def test_bare_kedro_mlflow_wrapper_is_refused(tmp_path: Path) -> None:
    """Why the wrapper exists; when kedro-mlflow fixes this, the wrapper can go."""
    from kedro.io.core import VersionAlreadyExistsError

    config = {
        "a": {
            "type": "kedro_mlflow.io.artifacts.MlflowArtifactDataset",
            "dataset": {
                "type": "text.TextDataset",
                "filepath": str(tmp_path / "a.txt"),
                "versioned": True,
            },
        }
    }
    catalog = DataCatalog.from_config(config, save_version=SAVE)
    with pytest.raises(VersionAlreadyExistsError):
        catalog.save("a", "x")
