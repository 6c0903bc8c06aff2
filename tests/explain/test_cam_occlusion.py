"""Grad-CAM on the CNNs, temporal occlusion on every light deep model (tiny random nets)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from aura.explain import gradcam, segment_frames, segment_occlusion, temporal_occlusion
from aura.inference.inputs import Segment
from aura.models import create_model, list_models
from tests.conftest import DEMO, HEAVY

CAM_MODELS = ("naive_cnn", "r3d18_inception", "x3d", "two_stream")
SHAPE = (1, 3, 8, 32, 32)  # small: occlusion runs T/window + 1 forwards, the reference as many


def _net(name: str, **extra: Any) -> nn.Module:
    torch.manual_seed(0)
    return create_model(name, pretrained=False, **{**DEMO[name], **extra})


def _clip(shape: tuple[int, ...] = SHAPE, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _reference(net: nn.Module, clip: torch.Tensor, groups: list[np.ndarray]) -> np.ndarray:
    """Plain loop: logit(clip) - logit(clip with each group's frames set to 0)."""
    net.eval()
    with torch.no_grad():
        base = float(net(clip)[0, 0])
        out = []
        for g in groups:
            x = clip.clone()
            x[:, :, torch.as_tensor(g)] = 0.0
            out.append(base - float(net(x)[0, 0]))
    return np.array(out)


@pytest.mark.parametrize("name", CAM_MODELS)
def test_gradcam_is_a_unit_heatmap_per_frame(name: str) -> None:
    net = _net(name).train()
    clip = _clip((1, 3, 8, 48, 80))  # not square, not the weights' size
    cam = gradcam(net, clip)
    assert cam.ok and cam.model == name and cam.layer == net.cam_layer and not cam.note
    heat = cam.heatmaps
    assert heat.shape == (8, 48, 80) and heat.dtype == np.float32
    assert np.isfinite(heat).all() and heat.min() >= 0.0 and heat.max() <= 1.0
    assert heat.max() == pytest.approx(1.0, abs=1e-4)  # min-max scaled over the clip
    assert net.training  # mode restored
    assert all(p.grad is None for p in net.parameters())


@pytest.mark.parametrize("name", sorted(set(DEMO) - set(CAM_MODELS)))
def test_models_without_cam_layer_say_so(name: str) -> None:
    cam = gradcam(_net(name), _clip())
    assert not cam.ok and cam.heatmaps is None
    assert f"not supported for {name}" in cam.note


def test_gradcam_refuses_a_batch() -> None:
    with pytest.raises(ValueError, match=r"one clip shaped \(1, 3, T, H, W\)"):
        gradcam(_net("naive_cnn"), _clip((2, 3, 8, 32, 32)))


def test_every_deep_model_is_covered() -> None:
    assert sorted([*DEMO, *HEAVY]) == list_models("clips")  # HEAVY: no tiny config


@pytest.mark.parametrize("name", sorted(DEMO))
def test_temporal_occlusion_is_the_logit_drop(name: str) -> None:
    net = _net(name)
    clip = _clip()
    drops = temporal_occlusion(net, clip, 4)  # equal windows: captum Occlusion
    assert net.training  # mode restored
    assert drops.shape == (4,) and np.isfinite(drops).all()
    windows = np.array_split(np.arange(8), 4)
    np.testing.assert_allclose(drops, _reference(net, clip, windows), atol=1e-4)


def test_uneven_windows_and_bad_counts() -> None:
    net, clip = _net("naive_cnn"), _clip()
    drops = temporal_occlusion(net, clip, 3)  # 3+3+2 frames: captum FeatureAblation
    windows = np.array_split(np.arange(8), 3)
    np.testing.assert_allclose(drops, _reference(net, clip, windows), atol=1e-5)
    assert not np.allclose(drops, 0.0)
    for bad in (0, 9):
        with pytest.raises(ValueError, match="n_windows must be in 1..8"):
            temporal_occlusion(net, clip, bad)


def test_segment_occlusion_maps_frame_times_to_segments() -> None:
    net, clip = _net("x3d"), _clip()
    times = np.arange(8) * 0.5 + 0.25  # 0.25 .. 3.75 s
    segments = [Segment(0.0, 1.0), Segment(1.0, 1.8), Segment(1.8, 4.0), Segment(9.0, 10.0)]
    groups = segment_frames(times, segments)
    assert [g.tolist() for g in groups] == [[0, 1], [2, 3], [4, 5, 6, 7], []]
    drops = segment_occlusion(net, clip, times, segments)
    assert np.isnan(drops[3])  # no clip frame in it
    np.testing.assert_allclose(drops[:3], _reference(net, clip, groups[:3]), atol=1e-5)
    # overlapping segments (frames 2, 3 in both): occluded one at a time
    overlap = [Segment(0.0, 2.0), Segment(1.0, 3.0)]
    both = segment_occlusion(net, clip, times, overlap)
    np.testing.assert_allclose(
        both, _reference(net, clip, segment_frames(times, overlap)), atol=1e-5
    )
    with pytest.raises(ValueError, match="3 times for a 8-frame clip"):
        segment_occlusion(net, clip, times[:3], segments)
