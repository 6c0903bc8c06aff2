"""``TorchModelDataset``: a trained model as a ``.pt`` file of tensors and plain config.

The saved object is a dict — ``state_dict`` (tensors) plus plain-Python ``config``/``fit`` entries —
and is loaded with ``torch.load(weights_only=True)``, so loading a file never runs pickled code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from kedro.io.core import DatasetError

from aura.datasets._file import VersionedFileDataset


class TorchModelDataset(VersionedFileDataset):
    """Save/load ``{"state_dict": {...}, "config": {...}, ...}`` with ``torch.save``/``torch.load``."""

    def load(self) -> dict[str, Any]:
        path = Path(self._get_load_path())
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # weights_only refuses anything but tensors and plain data
            raise DatasetError(f"{path}: not a weights-only model file ({err})") from err

    def save(self, data: dict[str, Any]) -> None:
        if not isinstance(data, dict) or "state_dict" not in data:
            raise DatasetError("TorchModelDataset saves a dict with a 'state_dict' entry")
        path = Path(self._get_save_path())
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        torch.save(data, tmp)
        tmp.replace(path)
