"""``ModelArtifactDataset``: one grid cell's trained model, in the format its model's kind names.

The catalog has one factory for every model (``"{model}.fold_{fold}.model"``); the dataset asks
the registry for the model's kind and stores the artifact as that kind's format: feature
baselines as ``.skops`` files, clip models as ``.safetensors`` (see :mod:`aura.models.artifacts`).
Loading never unpickles: any other file is refused with an error naming it.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io.core import DatasetError, Version

from aura.datasets._file import VersionedFileDataset
from aura.models.artifacts import SUFFIXES, ArtifactFormat, load_artifact, save_artifact


class ModelArtifactDataset(VersionedFileDataset):
    """Save/load the artifact of model ``model`` at ``filepath`` + the suffix of its format.

    Args:
        model: a registered model name (:func:`aura.models.list_models`).
        filepath: the path without suffix, e.g. ``data/06_models/svm/fold_0/model``.
    """

    def __init__(
        self,
        *,
        model: str,
        filepath: str,
        version: Version | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        from aura.models.registry import model_entry

        if PurePosixPath(filepath).suffix in SUFFIXES.values():
            raise DatasetError(
                f"ModelArtifactDataset({model}): give filepath {filepath!r} without a suffix; "
                "it comes from the model's kind"
            )
        self._model = model
        self._format: ArtifactFormat = model_entry(model).kind.artifact_format
        super().__init__(
            filepath=filepath + SUFFIXES[self._format], version=version, metadata=metadata
        )

    @property
    def model(self) -> str:
        return self._model

    @property
    def format(self) -> ArtifactFormat:
        """``skops`` or ``safetensors``: the artifact format of the model's kind."""
        return self._format

    def load(self) -> Any:
        return load_artifact(Path(self._get_load_path()), self._format)

    def save(self, data: Any) -> None:
        owner = getattr(data, "model", None) or getattr(data, "name", None)
        if owner != self._model:
            raise DatasetError(
                f"{self._filepath}: holds model {self._model!r}, refusing to save a "
                f"{type(data).__name__} of {owner!r}"
            )
        try:
            save_artifact(data, Path(self._get_save_path()), self._format)
        except TypeError as err:
            raise DatasetError(f"{self._filepath}: {err}") from err

    def _describe(self) -> dict[str, Any]:
        return {**super()._describe(), "model": self._model, "format": self._format}
