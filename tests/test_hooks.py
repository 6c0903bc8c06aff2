"""TrackingHooks: what each deep-model fit did lands in the MLflow run as ``<namespace>.<key>``."""

from __future__ import annotations

from typing import Any

import mlflow
import torch
from kedro.pipeline import node

from aura.hooks import TrackingHooks
from aura.models import ClipModelConfig, FitReport, SkippedCell, TrainedClipModel


def _train(*_: Any) -> None:
    return None


def test_fit_report_of_a_trained_clip_model_is_logged_as_params(tracking) -> None:
    fit = FitReport("off", 8, 2, "bf16-mixed", 3, 1, 0.8125, True, None, 40, 10)
    config = ClipModelConfig(
        "x3d", 2, {}, {"num_frames": 8}, "False", calibration={"a": 0.75, "b": -0.5}
    )
    trained = TrainedClipModel(config, {"w": torch.zeros(1)}, fit)
    hooks = TrackingHooks()
    cell = node(_train, "cv_folds", "model", name="train", namespace="x3d.fold_2")
    hooks.after_node_run(cell, {"x3d.fold_2.model": trained})
    skipped = node(_train, "cv_folds", "model", name="train", namespace="svm.fold_4")
    hooks.after_node_run(skipped, {"svm.fold_4.model": SkippedCell("svm", 4, "no fold 4")})
    params = mlflow.get_run(tracking.info.run_id).data.params
    expected = {**fit.as_params(), "calibration_a": 0.75, "calibration_b": -0.5}
    assert params == {f"x3d.fold_2.{k}": str(v) for k, v in expected.items()}
    assert params["x3d.fold_2.best_epoch"] == "1" and params["x3d.fold_2.stopped_early"] == "True"
