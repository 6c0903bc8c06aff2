"""``input_filter: srm``: every clip family can read the clip's fixed high-pass noise residual
instead of its RGB values, rebuilt the same way from the recorded settings."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aura.config import ConfigError
from aura.models import create_model, list_models
from aura.models.stem import FilteredClassifier, SRMResidual
from aura.training.clips import to_tensor
from tests.conftest import DEMO


def _clip(noise: float, seed: int = 0, size: int = 48) -> torch.Tensor:
    """A smooth gradient scene (1, 3, 4, size, size) with Gaussian noise of ``noise`` grey levels."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    base = 60 + 1.5 * xx + 0.8 * yy
    frames = np.stack([np.stack([base, base * 0.9, base * 0.7], -1)] * 4).astype(np.float64)
    frames = frames + rng.normal(0, noise, frames.shape) if noise else frames
    return to_tensor(np.clip(frames + 0.5, 0, 255).astype(np.uint8))[None]


def test_the_residual_removes_smooth_content_and_scales_with_noise() -> None:
    stem = SRMResidual()
    inner = (..., slice(None), slice(3, -3), slice(3, -3))  # away from the padded border
    smooth = stem(_clip(0))[inner]
    # a linear ramp is annihilated up to the uint8 rounding of the frames
    assert smooth.abs().max() < 0.5
    weak, strong = (stem(_clip(s, seed=1))[inner].std().item() for s in (3.0, 6.0))
    assert 1.7 < strong / weak < 2.3
    # camera-like noise (a few grey levels) comes out near unit scale, not at 1/50
    assert 0.5 < weak < 5.0


@pytest.mark.parametrize("name", sorted(DEMO))
def test_every_family_takes_the_filter_and_rebuilds_from_its_settings(name: str) -> None:
    torch.manual_seed(0)
    kwargs = {**DEMO[name], "img_size": 48} if "img_size" in DEMO[name] else DEMO[name]
    model = create_model(name, input_filter="srm", **kwargs).eval()
    assert isinstance(model, FilteredClassifier)
    assert model.model_cfg["input_filter"] == "srm"
    x = _clip(5.0, size=48).repeat(2, 1, 2, 1, 1)  # (2, 3, 8, 48, 48)
    with torch.no_grad():
        out = model(x)
        # a net that takes the raw clip too (two_stream: its flow) gets it from the wrapper
        raw = {"raw": x} if getattr(model.net, "takes_raw_clip", False) else {}
        assert torch.equal(out, model.net(model.stem(x), **raw))
    # what inference does: rebuild from the recorded settings and load the weights
    again = create_model(name, **model.model_cfg).eval()
    again.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert torch.equal(again(x), out)
    # the stem has no weights and is not saved; Grad-CAM's layer is found through the wrapper
    assert not list(model.stem.parameters()) and not any(
        k.startswith("stem.") for k in model.state_dict()
    )
    if layer := getattr(model, "cam_layer", None):
        assert model.get_submodule(layer) is model.net.get_submodule(model.net.cam_layer)


def test_a_frozen_backbone_stays_frozen_behind_the_filter() -> None:
    model = create_model(
        "r3d18_inception", input_filter="srm", branch_channels=16, freeze_backbone=True
    ).train()
    assert not model.net.backbone.training and model.net.inception.training
    model(_clip(5.0).repeat(1, 1, 2, 1, 1)).sum().backward()
    assert model.net.fc.weight.grad is not None
    assert all(p.grad is None for p in model.net.backbone.parameters())


def test_an_unknown_filter_is_refused_by_key() -> None:
    assert "naive_cnn" in list_models(kind="clips")
    with pytest.raises(ConfigError, match=r"training\.model_params\.naive_cnn\.input_filter"):
        create_model("naive_cnn", input_filter="sobel")
    assert not isinstance(create_model("naive_cnn", width=8), FilteredClassifier)  # rgb default
