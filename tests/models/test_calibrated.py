"""The per-fold Platt map of a clip model: applied by the artifact's network, saved with it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from aura.explain.cam import gradcam
from aura.models import create_model
from aura.models.artifacts import ClipModelConfig, TrainedClipModel, load_artifact, save_artifact
from aura.models.calibrated import CalibratedClassifier, apply_calibration


def _artifact(calibration: dict[str, float] | None) -> TrainedClipModel:
    torch.manual_seed(0)
    net = create_model("naive_cnn", width=4, input_filter="srm")
    config = ClipModelConfig(
        model="naive_cnn",
        fold=0,
        net=dict(net.model_cfg),
        trainer={"num_frames": 4, "clip_source": "scaled", "clip_size": 32},
        pretrained="False",
        calibration=calibration,
    )
    return TrainedClipModel(config, net.state_dict())


def test_the_network_maps_the_raw_logit_and_the_file_keeps_the_map(tmp_path: Path) -> None:
    x = torch.randn(2, 3, 4, 32, 32)
    raw = _artifact(None)
    cal = _artifact({"a": 0.5, "b": -1.25})
    assert not isinstance(raw.network(), CalibratedClassifier)
    with torch.no_grad():
        z = raw.network()(x)
        assert torch.allclose(cal.network()(x), 0.5 * z - 1.25)
    # weights load into the wrapped net unchanged: the map is not in the state dict
    assert cal.network().state_dict().keys() == {f"net.{k}" for k in raw.state_dict}
    again = load_artifact(
        save_artifact(cal, tmp_path / "m.safetensors", "safetensors"), "safetensors"
    )
    assert again.config.calibration == {"a": 0.5, "b": -1.25}
    with torch.no_grad():
        assert torch.equal(again.network()(x), cal.network()(x))


def test_explanations_find_the_layer_through_the_map() -> None:
    net = _artifact({"a": 2.0, "b": 0.3}).network()
    assert net.model_name == "naive_cnn" and net.cam_layer == f"net.{net.net.cam_layer}"
    result = gradcam(net, torch.randn(1, 3, 4, 32, 32))
    assert result.ok and result.model == "naive_cnn" and result.layer == net.cam_layer
    assert result.heatmaps.shape == (4, 32, 32) and np.isfinite(result.heatmaps).all()


def test_a_map_without_its_keys_is_refused() -> None:
    with pytest.raises(ValueError, match=r"needs keys \['b'\]"):
        apply_calibration(torch.nn.Identity(), {"a": 1.0})
