"""``ExplanationsDataset``: per-video explanations written as ``<stem>.png`` + ``<stem>.json``.

Saving renders each :class:`aura.inference.explain.Explanation` into the folder; loading gives
``{stem: json document}`` back (the PNGs are for people).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kedro.io.core import AbstractDataset


class ExplanationsDataset(AbstractDataset[dict[str, Any], dict[str, Any]]):
    """A folder of explanation contact sheets and their numbers."""

    def __init__(self, *, path: str, metadata: dict[str, Any] | None = None) -> None:
        self._path = Path(path)
        self.metadata = metadata

    def save(self, data: dict[str, Any]) -> None:
        from aura.inference.explain import write_explanations

        write_explanations(data, self._path)

    def load(self) -> dict[str, Any]:
        return {
            p.stem: json.loads(p.read_text(encoding="utf-8"))
            for p in sorted(self._path.glob("*.json"))
        }

    def _exists(self) -> bool:
        return self._path.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
