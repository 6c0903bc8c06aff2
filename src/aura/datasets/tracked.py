"""kedro-mlflow's ``MlflowArtifactDataset`` that honours Kedro's run-wide save version.

kedro-mlflow 2.0.3 builds the wrapped dataset itself, so a wrapped ``versioned: true`` dataset
gets its own timestamp when Kedro 1.x materialises it lazily, and the catalog refuses it
(``VersionAlreadyExistsError``: every dataset of a run must share one save version). Here
``versioned: true`` sits on this wrapper, Kedro hands it the run's ``Version``, and it is passed
on to the wrapped dataset; saving and MLflow logging are kedro-mlflow's, unchanged.
"""

from __future__ import annotations

from typing import Any

from kedro.io import AbstractVersionedDataset, Version
from kedro_mlflow.io.artifacts import MlflowArtifactDataset


class VersionedArtifactDataset(AbstractVersionedDataset):
    """``MlflowArtifactDataset`` whose wrapped dataset is versioned with the run's version."""

    versioned = False  # Kedro passes ``version`` only when the catalog entry says versioned: true

    def __new__(  # type: ignore[misc]
        cls,
        dataset: str | dict[str, Any],
        artifact_path: str | None = None,
        run_id: str | None = None,
        credentials: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        version: Version | None = None,
    ) -> AbstractVersionedDataset:
        config = {"type": dataset} if isinstance(dataset, str) else dict(dataset)
        if version is not None:
            config["versioned"] = True
        instance = MlflowArtifactDataset(
            dataset=config,
            artifact_path=artifact_path,
            run_id=run_id,
            credentials=credentials,
            metadata=metadata,
        )
        if version is not None:
            instance._version = version  # the wrapped dataset drew its own timestamp
        return instance
