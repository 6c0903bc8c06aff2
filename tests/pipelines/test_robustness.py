"""Robustness pipeline through Kedro's runner: real videos, real fold baselines and their
out-of-fold scores → robustness_predictions, robustness_metrics and the plot."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from matplotlib.figure import Figure
from sklearn.metrics import roc_auc_score

from aura.evaluation.robustness import PERTURBATIONS
from aura.evaluation.robustness_metrics import METRICS_SCHEMA
from aura.evaluation.robustness_scoring import SCHEMA
from aura.pipelines.robustness import create_pipeline
from aura.training.grid import Grid
from tests.evaluation import robustness_data as data
from tests.pipelines.conftest import KeptDataset

MODEL = "logistic_regression"
OUTPUTS = ("robustness_predictions", "robustness_metrics", "robustness_plot")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Eight videos in two folds, a baseline per fold and its out-of-fold predictions."""
    tmp = tmp_path_factory.mktemp("robust_pipeline")
    index = data.corpus(tmp / "videos", n=8)
    folds = data.folds(index)
    table = data.feature_table(index, data.feature_spec(data.config(tmp)), tmp / "work")
    cells, cv_predictions = data.fit_folds(folds, table, MODEL)
    return {"index": index, "folds": folds, "cells": cells, "cv_predictions": cv_predictions}


def run(
    trained: dict[str, Any],
    work: Path,
    executor: dict[str, Any] | None = None,
    **robustness: Any,
) -> dict[str, Any]:
    params = data.parameters(work, **robustness)
    params["executor"] = executor or params["executor"]
    catalog = DataCatalog(
        {
            "cv_folds": MemoryDataset(trained["folds"]),
            "video_index": MemoryDataset(trained["index"]),
            "cv_predictions": MemoryDataset(trained["cv_predictions"]),
            "parameters": MemoryDataset(params),
            "params:evaluation": MemoryDataset(params["evaluation"]),
            **{f"{m}.fold_{k}.model": MemoryDataset(a) for (m, k), a in trained["cells"].items()},
            **{name: KeptDataset() for name in OUTPUTS},
        }
    )
    SequentialRunner().run(create_pipeline(Grid((MODEL,), data.N_FOLDS)), catalog)
    return {name: catalog.load(name) for name in OUTPUTS}


@pytest.fixture(scope="module")
def outputs(trained: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("robust_run")
    return {"work": work, **run(trained, work, max_videos=2)}


def test_tables_and_plot(outputs: dict[str, Any], trained: dict[str, Any], tmp_path: Path) -> None:
    preds: pl.DataFrame = outputs["robustness_predictions"]
    assert preds.schema == pl.Schema(SCHEMA)
    names = list(PERTURBATIONS)
    assert preds.height == data.N_FOLDS * 2 * len(names)  # 2 videos per fold, one model
    assert set(preds["status"]) == {"ok"} and preds["error"].null_count() == preds.height
    assert preds["score"].is_between(0, 1).all()
    folds = trained["folds"].filter(pl.col("role") == "val")
    chosen = preds.select("fold", "video_id").unique().join(folds, on=["fold", "video_id"])
    assert chosen.height == data.N_FOLDS * 2
    assert sorted(chosen["target"].to_list()) == [0, 0, 1, 1]  # stratified: one of each per fold
    downscaled = preds.filter(pl.col("perturbation") == "downscale")
    assert downscaled.select("width", "height").unique().rows() == [(48, 32)]

    metrics: pl.DataFrame = outputs["robustness_metrics"]
    assert metrics.schema == pl.Schema(METRICS_SCHEMA)
    assert metrics["perturbation"].to_list() == ["none", *names]
    assert set(metrics["n"]) == {4} and set(metrics["n_failed"]) == {0}
    none = metrics.row(0, named=True)
    base = trained["cv_predictions"].join(
        chosen.select("fold", "video_id"), on=["fold", "video_id"]
    )
    assert none["roc_auc"] == pytest.approx(roc_auc_score(base["target"], base["score"]))
    for row in metrics.iter_rows(named=True):
        pert = preds.filter(pl.col("perturbation") == row["perturbation"])
        if row["perturbation"] != "none":
            expected = roc_auc_score(pert["target"], pert["score"])
            assert row["roc_auc"] == pytest.approx(expected)
            assert row["delta"] == pytest.approx(expected - none["roc_auc"])
        assert np.isnan(row["roc_auc_lo"]) or row["roc_auc_lo"] <= row["roc_auc"] + 1e-12

    fig: Figure = outputs["robustness_plot"]
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["none", *names]
    fig.savefig(tmp_path / "robustness.png")
    assert (tmp_path / "robustness.png").stat().st_size > 1000


def test_a_rerun_is_read_from_the_cache(
    outputs: dict[str, Any], trained: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aura.executor")
    again = run(trained, outputs["work"], max_videos=2)
    n = data.N_FOLDS * 2 * len(PERTURBATIONS)
    assert f"tasks={n} cached={n} computed=0" in caplog.text
    assert again["robustness_predictions"].equals(outputs["robustness_predictions"])


@pytest.mark.slow  # worker processes start (torch imports): ~10 s on an idle machine
def test_worker_processes_give_the_same_scores(
    outputs: dict[str, Any], trained: dict[str, Any], tmp_path: Path
) -> None:
    executor = {"backend": "processes", "workers": 1, "progress": False}
    got = run(trained, tmp_path, max_videos=2, perturbations=["crf38"], executor=executor)
    key = ["fold", "video_id"]
    serial = outputs["robustness_predictions"].filter(pl.col("perturbation") == "crf38")
    assert got["robustness_predictions"].sort(key).equals(serial.sort(key))


def test_disabled_gives_empty_tables_and_says_so(trained: dict[str, Any], tmp_path: Path) -> None:
    got = run(trained, tmp_path, enabled=False)
    assert got["robustness_predictions"].height == 0
    assert got["robustness_predictions"].schema == pl.Schema(SCHEMA)
    assert got["robustness_metrics"].height == 0
    texts = [t.get_text() for t in got["robustness_plot"].axes[0].texts]
    assert any("disabled" in t for t in texts)
    assert not (tmp_path / "cache").exists()  # nothing was scored


def test_registered_after_evaluation_in_the_default_pipeline() -> None:
    from aura.pipeline_registry import register_pipelines

    pipelines = register_pipelines()
    assert "robustness_predictions" in pipelines["robustness"].all_outputs()
    default = pipelines["__default__"]
    assert {"robustness_metrics", "robustness_plot"} <= default.all_outputs()
