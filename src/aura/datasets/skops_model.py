"""``SkopsModelDataset``: a fitted feature baseline as a ``.skops`` file, never a pickle.

skops stores scikit-learn objects as a zip of JSON and arrays and rebuilds only the types it is
told to trust, so loading a file cannot run code. Types beyond skops' defaults are trusted by
name in :data:`TRUSTED_TYPES` (what the calibrated SVM needs); a file that holds any other type,
or is not a skops file at all (e.g. a pickle), is refused with an error naming the file.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from kedro.io.core import DatasetError

from aura.datasets._file import VersionedFileDataset

#: Types our baselines hold that skops does not trust by default (checked on load, by name).
TRUSTED_TYPES = (
    "numpy.dtype",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
)


def load_skops(path: Path) -> Any:
    """Load a skops file trusting only skops' defaults and :data:`TRUSTED_TYPES`."""
    import skops.io as sio

    if not zipfile.is_zipfile(path):
        raise DatasetError(f"{path}: not a skops file (refused: only skops model files load)")
    untrusted = sio.get_untrusted_types(file=path)
    if refused := sorted(set(untrusted) - set(TRUSTED_TYPES)):
        raise DatasetError(f"{path}: refused, it holds types that are not trusted: {refused}")
    return sio.load(path, trusted=list(untrusted))


class SkopsModelDataset(VersionedFileDataset):
    """Save/load a :class:`~aura.models.FittedBaseline` (or a skipped cell) with skops."""

    def load(self) -> Any:
        from aura.models import FittedBaseline
        from aura.training.grid import SkippedCell

        path = Path(self._get_load_path())
        data = load_skops(path)
        if not isinstance(data, dict) or data.get("kind") not in ("baseline", "skipped"):
            raise DatasetError(f"{path}: not an AURA baseline model file")
        if data["kind"] == "skipped":
            return SkippedCell(data["model"], int(data["fold"]), data["reason"])
        return FittedBaseline(data["name"], data["pipeline"], list(data["feature_names"]))

    def save(self, data: Any) -> None:
        import skops.io as sio

        from aura.models import FittedBaseline
        from aura.training.grid import SkippedCell

        if isinstance(data, FittedBaseline):
            payload = {
                "kind": "baseline",
                "name": data.name,
                "pipeline": data.pipeline,
                "feature_names": list(data.feature_names),
            }
        elif isinstance(data, SkippedCell):
            payload = {"kind": "skipped", "model": data.model, "fold": data.fold}
            payload["reason"] = data.reason
        else:
            raise DatasetError(f"SkopsModelDataset saves a FittedBaseline, got {type(data)}")
        path = Path(self._get_save_path())
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        sio.dump(payload, tmp)
        tmp.replace(path)
