"""DetectorDataset: Kedro versioning, ``latest_detector``, and kedro-mlflow's artifact round trip
(``KedroPipelineModel`` logs ``_filepath`` as a directory artifact and reloads from the copy)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset, Version
from kedro.io.core import DatasetError
from kedro.pipeline import node, pipeline

from aura.datasets import DetectorDataset
from aura.release import Detector, latest_detector, load_detector
from tests.release.conftest import video_inputs


def _save(base: Path, detector: Detector) -> DetectorDataset:
    ds = DetectorDataset(filepath=str(base), version=Version(None, None))
    ds.save(detector)
    return ds


def test_versions_are_folders_and_the_newest_loads(both_kinds: Detector, tmp_path: Path) -> None:
    base = tmp_path / "data" / "06_models" / "detector"
    first, second = _save(base, both_kinds), _save(base, both_kinds)
    versions = sorted(p.name for p in base.iterdir())
    assert len(versions) == 2
    for v in versions:
        assert (base / v / "detector" / "manifest.json").is_file()
    loaded = DetectorDataset(filepath=str(base), version=Version(None, None)).load()
    assert loaded.version == versions[-1]  # the manifest states the Kedro version
    pinned = DetectorDataset(filepath=str(base), version=Version(versions[0], None)).load()
    assert pinned.version == versions[0]
    assert first.exists() and second.exists()
    assert latest_detector(tmp_path) == base / versions[-1] / "detector"
    assert latest_detector(tmp_path / "empty") is None


def test_latest_detector_follows_the_catalog(both_kinds: Detector, tmp_path: Path) -> None:
    (tmp_path / "conf" / "base").mkdir(parents=True)
    (tmp_path / "conf" / "base" / "catalog.yml").write_text(
        "detector:\n  type: aura.datasets.DetectorDataset\n  filepath: out/det\n  versioned: true\n"
    )
    _save(tmp_path / "out" / "det", both_kinds)
    found = latest_detector(tmp_path)
    assert found is not None and found.parent.parent == tmp_path / "out" / "det"
    assert load_detector(found).members


def test_unversioned_and_wrong_type(both_kinds: Detector, tmp_path: Path) -> None:
    ds = DetectorDataset(filepath=str(tmp_path / "plain"))
    assert not ds.exists()
    ds.save(both_kinds)
    assert (tmp_path / "plain" / "manifest.json").is_file()
    assert ds.load().score(video_inputs(0)) == both_kinds.score(video_inputs(0))
    with pytest.raises(DatasetError, match="saves a Detector"):
        DetectorDataset(filepath=str(tmp_path / "x")).save({"not": "a detector"})  # type: ignore[arg-type]
    with pytest.raises(DatasetError, match="no manifest.json"):
        DetectorDataset(filepath=str(tmp_path / "missing")).load()


def score_table(detector: Detector, requests: pd.DataFrame) -> pd.DataFrame:
    """A tiny inference node: score the hand-built video of each requested seed."""
    rows = [detector.score(video_inputs(int(s))) for s in requests["seed"]]
    return pd.DataFrame(
        {
            "version": [detector.version] * len(rows),
            "probability": [r.probability for r in rows],
            "label": [r.label for r in rows],
        }
    )


def test_kedro_mlflow_logs_one_version_folder_and_reloads_it(
    both_kinds: Detector, tmp_path: Path
) -> None:
    import mlflow.pyfunc
    from kedro_mlflow.mlflow import KedroPipelineModel

    base = tmp_path / "data" / "06_models" / "detector"
    _save(base, both_kinds)  # an older version that must not be logged
    ds = _save(base, both_kinds)
    ds.exists()  # what kedro-mlflow's hook does first (materialises the load version)
    newest = sorted(base.iterdir())[-1] / "detector"
    assert Path(ds._filepath) == newest

    inference = pipeline([node(score_table, ["detector", "requests"], "scores")])
    catalog = DataCatalog({"detector": ds, "requests": MemoryDataset()})
    model = KedroPipelineModel(pipeline=inference, catalog=catalog, input_name="requests")
    artifacts = model.extract_pipeline_artifacts(parameters_saving_folder=tmp_path)
    assert artifacts == {"detector": newest.resolve().as_uri()}

    saved = tmp_path / "mlflow_model"
    mlflow.pyfunc.save_model(saved, python_model=model, artifacts=artifacts, pip_requirements=[])
    copies = list(saved.rglob("manifest.json"))
    assert len(copies) == 1  # one detector folder, not the whole version history
    expected = score_table(both_kinds, pd.DataFrame({"seed": [0, 5]}))
    version = newest.parent.name
    import shutil

    shutil.rmtree(base)  # the served model must use its own copy
    served = mlflow.pyfunc.load_model(str(saved)).predict(pd.DataFrame({"seed": [0, 5]}))
    assert served["version"].tolist() == [version, version]
    pd.testing.assert_series_equal(served["probability"], expected["probability"])
    assert served["label"].tolist() == expected["label"].tolist()
