"""``MatrixDataset``: a 2-D NumPy matrix saved as ``.npy`` with its column names beside it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from kedro.io.core import DatasetError

from aura.datasets._file import VersionedFileDataset


class MatrixDataset(VersionedFileDataset):
    """Save/load ``(matrix, column_names)``: ``<name>.npy`` plus ``<name>.columns.json``.

    Loads with ``allow_pickle=False``; a column list that does not match the matrix width
    is refused on save and on load, so features can never be misaligned with their names.
    """

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
