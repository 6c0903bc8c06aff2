"""``MatrixDataset``: a 2-D NumPy matrix saved as ``.npy`` with its column names beside it."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from kedro.io.core import AbstractVersionedDataset, DatasetError, Version


class MatrixDataset(
    AbstractVersionedDataset[tuple[np.ndarray, list[str]], tuple[np.ndarray, list[str]]]
):
    """Save/load ``(matrix, column_names)``: ``<name>.npy`` plus ``<name>.columns.json``.

    Loads with ``allow_pickle=False``; a column list that does not match the matrix width
    is refused on save and on load, so features can never be misaligned with their names.
    """

    def __init__(
        self,
        *,
        filepath: str,
        version: Version | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            filepath=PurePosixPath(filepath),
            version=version,
            exists_function=lambda p: Path(p).exists(),
        )
        self.metadata = metadata

    @staticmethod
    def _columns_path(path: Path) -> Path:
        return path.with_name(path.stem + ".columns.json")

    def load(self) -> tuple[np.ndarray, list[str]]:
        path = Path(self._get_load_path())
        matrix = np.load(path, allow_pickle=False)
        columns = json.loads(self._columns_path(path).read_text(encoding="utf-8"))
        if matrix.ndim != 2 or matrix.shape[1] != len(columns):
            raise DatasetError(
                f"{path}: matrix {matrix.shape} does not match {len(columns)} column names"
            )
        return matrix, columns

    def save(self, data: tuple[np.ndarray, list[str]]) -> None:
        matrix, columns = data
        if matrix.ndim != 2 or matrix.shape[1] != len(columns):
            raise DatasetError(f"matrix {matrix.shape} does not match {len(columns)} column names")
        path = Path(self._get_save_path())
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, matrix, allow_pickle=False)
        self._columns_path(path).write_text(json.dumps(list(columns)), encoding="utf-8")

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "version": self._version}

    def _exists(self) -> bool:
        try:
            return Path(self._get_load_path()).exists()
        except DatasetError:
            return False
