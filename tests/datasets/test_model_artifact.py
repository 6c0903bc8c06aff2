"""Every registered model's fold artifact goes through the one catalog factory: the format its kind
names, the same model back, and nothing but skops / safetensors files ever loads."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import polars as pl
import pytest
import skops.io as sio
import torch
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog, Version
from kedro.io.core import DatasetError

from aura.datasets import ModelArtifactDataset
from aura.features import FEATURES as FEATURE_SPECS
from aura.features.metadata import metadata_table
from aura.models import (
    ClipModelConfig,
    FitReport,
    FittedBaseline,
    SkippedCell,
    TrainedClipModel,
    create_model,
    fit_baseline,
    list_models,
    model_entry,
)
from aura.models.artifacts import SUFFIXES
from aura.models.kinds import FEATURES
from aura.settings import CONFIG_LOADER_ARGS
from aura.training import TrainConfig
from tests.conftest import REPO
from tests.models.test_registry import DEMO, HEAVY

SAVE = "2026-01-02T03.04.05.678Z"
CLIP = (1, 3, 8, 64, 64)  # N, C, T, H, W: every family accepts it


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    rng = np.random.default_rng(0)
    names = list(FEATURE_SPECS)[:6]
    target = np.tile([0, 1], 30)
    cols = {n: rng.normal(size=60) + 0.8 * target * (i % 2) for i, n in enumerate(names)}
    ids = [f"v{i}" for i in range(60)]
    facts = [{"width": 320 + 16 * i % 64, "height": 240, "codec": "h264"} for i in range(60)]
    meta = metadata_table(ids, facts, target_size=112)  # what the metadata audit model reads
    return pl.DataFrame({"video_id": ids, "target": target, **cols}).join(meta, on="video_id")


def _trained_clip_model(name: str) -> TrainedClipModel:
    """A tiny untrained network of family ``name`` as a cell would return it."""
    torch.manual_seed(0)
    net = create_model(name, pretrained=False, **DEMO[name])
    trainer = TrainConfig(num_frames=CLIP[2], clip_size=CLIP[-1]).model_dump(mode="json")
    config = ClipModelConfig(name, 0, dict(net.model_cfg), trainer, "False")
    fit = FitReport("off", 4, 2, "32-true", 2, 1, 0.75, False, None, 12, 4)
    state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    return TrainedClipModel(config, state, fit, {"note": "test"})


def _artifact(name: str, table: pl.DataFrame) -> Any:
    if model_entry(name).kind == FEATURES:
        return fit_baseline(name, table, table["video_id"].to_list())
    return _trained_clip_model(name)


def _same_model(back: Any, model: Any, table: pl.DataFrame) -> None:
    if isinstance(model, FittedBaseline):
        assert isinstance(back, FittedBaseline) and back.name == model.name
        assert back.feature_names == model.feature_names
        assert np.array_equal(back.predict_proba(table), model.predict_proba(table))
        return
    assert isinstance(back, TrainedClipModel)
    assert (back.config, back.fit, back.extra) == (model.config, model.fit, model.extra)
    assert set(back.state_dict) == set(model.state_dict)
    assert all(torch.equal(back.state_dict[k], v) for k, v in model.state_dict.items())
    clip = torch.rand(*CLIP, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(back.network()(clip), model.network()(clip))


def test_the_project_catalog_stores_every_model_in_its_kinds_format(
    table: pl.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tracking
) -> None:
    """conf/base's one factory resolves every registered name; each artifact round-trips through
    it (and is logged to MLflow) as a real file of its kind's format."""
    loader = OmegaConfigLoader(
        str(REPO / "conf"), **{**CONFIG_LOADER_ARGS, "default_run_env": "base"}
    )
    catalog = DataCatalog.from_config(loader["catalog"], save_version=SAVE)
    monkeypatch.chdir(tmp_path)  # the catalog's relative data/ paths land here
    assert len(list_models()) == 12
    # HEAVY (mvit_v2_s): the same safetensors format as every clip model, but a 16x224 forward
    names = [n for n in list_models() if n not in HEAVY]
    for name in names:
        fmt = model_entry(name).kind.artifact_format
        dataset = catalog.get(f"{name}.fold_0.model")
        assert isinstance(dataset, ModelArtifactDataset), name
        assert (dataset.model, dataset.format) == (name, fmt)
        model = _artifact(name, table)
        catalog.save(f"{name}.fold_0.model", model)
        file = Path(
            f"data/06_models/{name}/fold_0/model{SUFFIXES[fmt]}/{SAVE}/model{SUFFIXES[fmt]}"
        )
        assert file.is_file(), name
        assert file.read_bytes()[:2] == b"PK" if fmt == "skops" else file.suffix == ".safetensors"
        _same_model(catalog.load(f"{name}.fold_0.model"), model, table)
        logged = mlflow.MlflowClient().list_artifacts(tracking.info.run_id, f"models/{name}/fold_0")
        assert [a.path for a in logged] == [f"models/{name}/fold_0/model{SUFFIXES[fmt]}"]


def _dataset(tmp_path: Path, model: str, version: str | None = SAVE) -> ModelArtifactDataset:
    return ModelArtifactDataset(
        model=model, filepath=str(tmp_path / "model"), version=Version(version, version)
    )


@pytest.mark.parametrize("model", ["svm", "naive_cnn"])
def test_skipped_cell_round_trips_in_either_format(tmp_path: Path, model: str) -> None:
    ds = _dataset(tmp_path, model)
    ds.save(SkippedCell(model, 4, "fold 4 does not exist"))
    assert ds.load() == SkippedCell(model, 4, "fold 4 does not exist")


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # what a crafted model file does on unpickling
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("model", ["svm", "x3d"])
def test_a_crafted_pickle_is_refused_and_never_runs(tmp_path: Path, model: str) -> None:
    marker = tmp_path / "pwned"
    suffix = SUFFIXES[model_entry(model).kind.artifact_format]
    target = tmp_path / f"model{suffix}" / SAVE / f"model{suffix}"
    target.parent.mkdir(parents=True)
    target.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(DatasetError, match=str(target)):
        _dataset(tmp_path, model).load()
    assert not marker.exists()


def test_a_skops_file_with_an_untrusted_type_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "model.skops" / SAVE / "model.skops"
    target.parent.mkdir(parents=True)
    sio.dump({"kind": "baseline", "name": "x", "pipeline": os.system, "feature_names": []}, target)
    assert sio.get_untrusted_types(file=target)  # skops itself would not load it unasked
    with pytest.raises(DatasetError, match="not trusted") as err:
        _dataset(tmp_path, "svm").load()
    assert str(target) in str(err.value) and "system" in str(err.value)


def test_wrong_names_paths_and_objects_are_refused(tmp_path: Path, table: pl.DataFrame) -> None:
    with pytest.raises(ValueError, match="unknown model 'forest'; known models: .*svm.*x3d"):
        ModelArtifactDataset(model="forest", filepath=str(tmp_path / "model"))
    with pytest.raises(DatasetError, match="without a suffix"):
        ModelArtifactDataset(model="svm", filepath=str(tmp_path / "model.skops"))
    lr = fit_baseline("logistic_regression", table, table["video_id"].to_list())
    with pytest.raises(DatasetError, match="holds model 'svm'.*FittedBaseline of 'logistic_"):
        _dataset(tmp_path, "svm").save(lr)
    weights = TrainedClipModel(ClipModelConfig("svm", 0, {}, {"num_frames": 8}, "False"), {})
    with pytest.raises(DatasetError, match="a skops artifact holds a FittedBaseline"):
        _dataset(tmp_path, "svm").save(weights)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]
