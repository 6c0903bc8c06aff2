"""``MatrixDataset``: a 2-D NumPy matrix saved as ``.npy`` with its column names beside it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from kedro.io.core import DatasetError
from kedro_datasets._typing import TablePreview  # the type kedro-viz's side panel renders

from aura.datasets._file import VersionedFileDataset


class MatrixDataset(VersionedFileDataset):
    """Save/load ``(matrix, column_names)``: ``<name>.npy`` plus ``<name>.columns.json``.

    Loads with ``allow_pickle=False``; a column list that does not match the matrix width
    is refused on save and on load, so features can never be misaligned with their names.
    """

    @staticmethod
    def _columns_path(path: Path) -> Path:
        return path.with_name(path.stem + ".columns.json")

    def _read(self, mmap: bool) -> tuple[np.ndarray, list[str]]:
        path = Path(self._get_load_path())
        matrix = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
        columns = json.loads(self._columns_path(path).read_text(encoding="utf-8"))
        if matrix.ndim != 2 or matrix.shape[1] != len(columns):
            raise DatasetError(
                f"{path}: matrix {matrix.shape} does not match {len(columns)} column names"
            )
        return matrix, columns

    def load(self) -> tuple[np.ndarray, list[str]]:
        return self._read(mmap=False)

    def preview(self, nrows: int = 5) -> TablePreview:
        """The first ``nrows`` rows under their column names (kedro-viz's side panel).

        The file is memory-mapped, so only those rows are read.
        """
        matrix, columns = self._read(mmap=True)
        rows = np.asarray(matrix[:nrows]).tolist()
        return TablePreview({"index": list(range(len(rows))), "columns": columns, "data": rows})

    def save(self, data: tuple[np.ndarray, list[str]]) -> None:
        matrix, columns = data
        if matrix.ndim != 2 or matrix.shape[1] != len(columns):
            raise DatasetError(f"matrix {matrix.shape} does not match {len(columns)} column names")
        path = Path(self._get_save_path())
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, matrix, allow_pickle=False)
        self._columns_path(path).write_text(json.dumps(list(columns)), encoding="utf-8")
