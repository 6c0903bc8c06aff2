"""``VideoFolderDataset``: a folder of video files written by per-video workers, seen by Kedro.

Stages write their videos straight into the folder (streamed, atomically, in parallel) so the
videos never pass through node memory. The node then *saves* the mapping ``{key: path}``; the
dataset checks every file exists and writes ``_index.json`` into the folder (paths relative to
it when inside, absolute otherwise, e.g. after ``--params scaling.output_dir=...``).
Loading returns that mapping with absolute paths, so downstream nodes and notebooks get the
files by key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kedro.io.core import AbstractDataset, DatasetError

INDEX_NAME = "_index.json"


class VideoFolderDataset(AbstractDataset[dict[str, str], dict[str, str]]):
    """A folder of videos with an index ``{key: relative path}``."""

    def __init__(self, *, path: str, metadata: dict[str, Any] | None = None) -> None:
        self._path = Path(path)
        self.metadata = metadata

    def load(self) -> dict[str, str]:
        index = self._path / INDEX_NAME
        if not index.is_file():
            raise DatasetError(
                f"{self._path}: no {INDEX_NAME}; run the stage that writes these videos first"
            )
        rel = json.loads(index.read_text(encoding="utf-8"))
        return {key: str((self._path / p).resolve()) for key, p in rel.items()}

    def save(self, data: dict[str, str]) -> None:
        root = self._path.resolve()
        root.mkdir(parents=True, exist_ok=True)
        rel: dict[str, str] = {}
        for key, p in sorted(data.items()):
            path = Path(p).resolve()
            if not path.is_file():
                raise DatasetError(f"{key}: {path} does not exist")
            rel[key] = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        tmp = root / f".{INDEX_NAME}.tmp"
        tmp.write_text(json.dumps(rel, indent=1), encoding="utf-8")
        tmp.replace(root / INDEX_NAME)

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}

    def _exists(self) -> bool:
        return (self._path / INDEX_NAME).is_file()
