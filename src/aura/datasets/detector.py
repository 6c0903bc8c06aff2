"""``DetectorDataset``: a released detector folder, versioned the Kedro way.

``filepath: data/06_models/detector`` with ``versioned: true`` saves each release to
``data/06_models/detector/<version>/detector/`` (``manifest.json`` + ``parts/``) and loads the
newest (or ``--load-versions detector:<version>``). The saved manifest's ``version`` is that
Kedro version.

kedro-mlflow compatibility (checked in kedro-mlflow 2.0.3): when ``pipeline_ml_factory`` logs
the inference pipeline, ``KedroPipelineModel.extract_pipeline_artifacts`` takes each input
dataset's ``_filepath`` (not its versioned load path) as the MLflow artifact, and
``load_context`` later sets ``_filepath`` to the downloaded copy and calls ``load()``. A plain
versioned dataset would therefore log *every* version under the base folder. Here
``_filepath`` reads as the folder of the resolved version (``<base>/<version>/detector``, a
directory artifact that MLflow copies whole), and assigning it pins the dataset to that
folder, which then loads as is, unversioned.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io.core import AbstractVersionedDataset, DatasetError, Version

from aura.release.detector import MANIFEST, Detector, DetectorError, load_detector, save_detector


class DetectorDataset(AbstractVersionedDataset[Detector, Detector]):
    """Save/load a :class:`~aura.release.Detector` folder (see the module doc)."""

    def __init__(
        self,
        *,
        filepath: str,
        version: Version | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._base = PurePosixPath(filepath)
        self._pinned: PurePosixPath | None = None
        self._ready = False  # AbstractVersionedDataset.__init__ assigns _filepath: not a pin
        super().__init__(
            filepath=self._base,
            version=version,
            exists_function=lambda p: (Path(p) / MANIFEST).is_file(),
        )
        self._ready = True
        self.metadata = metadata

    # kedro-mlflow reads and writes ``_filepath``; Kedro's own path logic uses ``_base``.
    @property  # type: ignore[override]
    def _filepath(self) -> PurePosixPath:
        if self._pinned is not None:
            return self._pinned
        if not self._version:
            return self._base
        version = self._version.load or self._cached_load_version
        return self._get_versioned_path(version) if version else self._base

    @_filepath.setter
    def _filepath(self, path: Any) -> None:
        if self._ready:
            self._pinned = PurePosixPath(Path(path).as_posix())

    def _get_versioned_path(self, version: str) -> PurePosixPath:
        if not version or version in (".", "..") or "/" in version or "\\" in version:
            raise DatasetError(f"version {version!r} must be one plain path component")
        return self._base / version / self._base.name

    def _get_load_path(self) -> PurePosixPath:
        return self._pinned if self._pinned is not None else super()._get_load_path()

    def load(self) -> Detector:
        path = Path(self._get_load_path())
        try:
            return load_detector(path)
        except DetectorError as err:
            raise DatasetError(str(err)) from err

    def save(self, data: Detector) -> None:
        if not isinstance(data, Detector):
            raise DatasetError(f"DetectorDataset saves a Detector, got {type(data).__name__}")
        if self._pinned is not None:
            raise DatasetError(f"{self._pinned}: a pinned detector folder is read-only")
        path = Path(self._get_save_path())
        version = path.parent.name if self._version else data.manifest.version
        stamped = Detector(replace(data.manifest, version=version), data.members, data.calibration)
        save_detector(stamped, path)

    def _exists(self) -> bool:
        try:
            return (Path(self._get_load_path()) / MANIFEST).is_file()
        except DatasetError:
            return False

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._base), "version": self._version}
