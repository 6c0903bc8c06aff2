"""Feature baselines persist through skops: the same predictions back, and nothing else loads."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import skops.io as sio
from kedro.io import Version
from kedro.io.core import DatasetError

from aura.datasets import SkopsModelDataset
from aura.features import FEATURES
from aura.models import fit_baseline
from aura.training.grid import SkippedCell

SAVE = "2026-01-02T03.04.05.678Z"


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    rng = np.random.default_rng(0)
    names = list(FEATURES)[:6]
    target = np.tile([0, 1], 30)
    cols = {n: rng.normal(size=60) + 0.8 * target * (i % 2) for i, n in enumerate(names)}
    return pl.DataFrame({"video_id": [f"v{i}" for i in range(60)], "target": target, **cols})


def _dataset(tmp_path: Path, version: str | None = SAVE) -> SkopsModelDataset:
    return SkopsModelDataset(
        filepath=str(tmp_path / "model.skops"), version=Version(version, version)
    )


@pytest.mark.parametrize("name", ["logistic_regression", "svm"])
def test_round_trip_gives_the_same_predictions(
    name: str, table: pl.DataFrame, tmp_path: Path
) -> None:
    model = fit_baseline(name, table, table["video_id"].to_list())
    ds = _dataset(tmp_path)
    ds.save(model)
    assert zipfile_like(tmp_path / "model.skops" / SAVE / "model.skops")
    back = ds.load()
    assert back.name == name and back.feature_names == model.feature_names
    assert np.array_equal(back.predict_proba(table), model.predict_proba(table))


def test_skipped_cell_round_trips(tmp_path: Path) -> None:
    ds = _dataset(tmp_path)
    ds.save(SkippedCell("svm", 4, "fold 4 does not exist"))
    assert ds.load() == SkippedCell("svm", 4, "fold 4 does not exist")


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # what a crafted model.pkl does on unpickling
        return (os.system, (f"touch {self.marker}",))


def test_a_crafted_pickle_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    target = tmp_path / "model.skops" / SAVE / "model.skops"
    target.parent.mkdir(parents=True)
    target.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(DatasetError, match=str(target)):
        _dataset(tmp_path).load()
    assert not marker.exists()


def test_a_skops_file_with_an_untrusted_type_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "model.skops" / SAVE / "model.skops"
    target.parent.mkdir(parents=True)
    sio.dump({"kind": "baseline", "name": "x", "pipeline": os.system, "feature_names": []}, target)
    assert sio.get_untrusted_types(file=target)  # skops itself would not load it unasked
    with pytest.raises(DatasetError, match="not trusted") as err:
        _dataset(tmp_path).load()
    assert str(target) in str(err.value) and "system" in str(err.value)


def zipfile_like(path: Path) -> bool:
    return path.read_bytes()[:2] == b"PK"
