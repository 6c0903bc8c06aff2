"""swin3d_t, mvit_v2_s and two_stream: (N, 3, T, H, W) -> (N, 1) logits, weights handling,
mvit's fixed input size, and the two-stream model's Farneback flow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.models.video.swin_transformer import SwinTransformer3d

from aura.models import create_model
from aura.models.mvit import resample_clip
from aura.models.stem import FilteredClassifier
from aura.models.two_stream import FLOW_SCALE, farneback_flow
from aura.models.weights import PretrainedWeightsWarning, WeightsNotFoundError, describe_pretrained
from aura.training.clips import MEAN, STD
from tests.conftest import DEMO

SWIN = DEMO["swin3d_t"]


@pytest.fixture
def empty_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty torch.hub cache: no checkpoint on disk (and no network here)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path


def _moving_clip(shift: int, frames: int = 4, side: int = 48) -> torch.Tensor:
    """(1, 3, T, side, side) normalised clip of a smooth texture moving ``shift`` px/frame in x."""
    yy, xx = np.mgrid[0:side, 0 : side + shift * frames]
    texture = 128 + 60 * np.sin(xx / 3.0) * np.cos(yy / 4.0)
    grey = np.stack([texture[:, k * shift : k * shift + side] for k in range(frames)])
    grey = np.stack([grey] * 3)
    x = torch.from_numpy(grey.astype(np.float32))
    return ((x / 255.0 - MEAN) / STD).unsqueeze(0)


def test_swin3d_t_maps_any_clip_to_a_logit_and_learns() -> None:
    torch.manual_seed(0)
    model = create_model("swin3d_t", **SWIN).train()
    assert describe_pretrained(model) == "off" and model.model_cfg["embed_dim"] == 24
    out = model(torch.randn(2, 3, 8, 48, 48))
    assert out.shape == (2, 1) and torch.isfinite(out).all()
    out.sum().backward()
    assert model.net.patch_embed.proj.weight.grad.abs().sum() > 0
    with torch.no_grad():
        assert model.eval()(torch.randn(1, 3, 5, 37, 61)).shape == (1, 1)  # padded to windows
    with pytest.raises(ValueError, match="not divisible by num_heads"):
        create_model("swin3d_t", embed_dim=24, num_heads=(5, 2, 3, 6), depths=(1, 1, 1, 1))


def test_swin3d_t_weights_path_loads_the_backbone_not_the_head(tmp_path: Path) -> None:
    torch.manual_seed(1)
    kinetics = SwinTransformer3d(
        patch_size=[2, 4, 4], window_size=[8, 7, 7], num_classes=400, **SWIN
    )
    file = tmp_path / "swin_tiny.pth"
    torch.save(kinetics.state_dict(), file)
    model = create_model("swin3d_t", pretrained=True, weights_path=str(file), **SWIN)
    assert describe_pretrained(model) == f"loaded {file}"
    own = model.net.state_dict()
    assert torch.equal(
        own["patch_embed.proj.weight"], kinetics.state_dict()["patch_embed.proj.weight"]
    )
    assert own["head.weight"].shape == (1, 8 * 24)  # a new one-logit head


def test_missing_weights_fail_fast_or_warn_loudly(empty_hub: Path) -> None:
    with pytest.raises(WeightsNotFoundError, match=r"swin3d_t-7615ae03\.pth is not in"):
        create_model("swin3d_t", pretrained=True, **SWIN)
    with pytest.warns(PretrainedWeightsWarning, match="TRAINING swin3d_t FROM SCRATCH"):
        model = create_model("swin3d_t", pretrained="auto", **SWIN)
    assert describe_pretrained(model).startswith("scratch: swin3d_t-7615ae03.pth is not in")
    with pytest.raises(WeightsNotFoundError, match=r"mvit_v2_s-ae3be167\.pth is not in"):
        create_model("mvit_v2_s", pretrained=True)
    with pytest.raises(ValueError, match="two_stream has no pretrained weights"):
        create_model("two_stream", pretrained=True)


def test_resample_clip_picks_frames_and_resizes() -> None:
    x = torch.arange(8, dtype=torch.float32).reshape(1, 1, 8, 1, 1).expand(1, 3, 8, 4, 4)
    y = resample_clip(x, 16, 10)
    assert y.shape == (1, 3, 16, 10, 10)
    assert y[0, 0, :, 0, 0].tolist() == [round(7 * i / 15) for i in range(16)]  # nearest frames
    assert resample_clip(torch.ones(1, 3, 16, 224, 224), 16, 224).shape == (1, 3, 16, 224, 224)


def test_mvit_v2_s_size_handling(caplog: pytest.LogCaptureFixture) -> None:
    """One batch-1 eval forward (16x224x224 inside): the only heavy call of this file."""
    strict = create_model("mvit_v2_s", resample_input=False).eval()
    with pytest.raises(
        ValueError, match=r"only 16 x 224 x 224 clips, got 8 x 48 x 48.*num_frames=16"
    ):
        strict(torch.randn(1, 3, 8, 48, 48))
    with caplog.at_level("WARNING", logger="aura.models.mvit"):
        torch.manual_seed(0)
        model = create_model("mvit_v2_s").eval()
    assert "resampled to it" in caplog.text
    assert model.model_cfg["resample_input"] is True  # recorded with the artifact's config
    with torch.no_grad():
        out = model(torch.randn(1, 3, 8, 48, 48))
    assert out.shape == (1, 1) and torch.isfinite(out).all()


def test_farneback_flow_measures_the_motion() -> None:
    flow = farneback_flow(_moving_clip(2))
    assert flow.shape == (1, 2, 3, 48, 48) and flow.dtype == torch.float32
    inner = flow[0, :, :, 12:-12, 12:-12]  # away from the borders
    dx, dy = inner[0].median().item() * FLOW_SCALE, inner[1].median().item() * FLOW_SCALE
    # the texture moves left by 2 px per frame
    assert dx == pytest.approx(-2.0, abs=0.3) and abs(dy) < 0.3
    assert farneback_flow(_moving_clip(0)).abs().max() < 0.05


@pytest.mark.parametrize("fusion", ["average", "concat"])
def test_two_stream_trains_both_streams(fusion: str) -> None:
    torch.manual_seed(0)
    model = create_model("two_stream", fusion=fusion, width=8).train()
    clip = _moving_clip(1, frames=6).repeat(2, 1, 1, 1, 1)
    out = model(clip)
    assert out.shape == (2, 1) and torch.isfinite(out).all()
    out.sum().backward()
    for stream in (model.rgb, model.flow):
        assert stream.features[0][0].weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="T >= 2"):
        model(clip[:, :, :1])
    with pytest.raises(ValueError, match="fusion must be"):
        create_model("two_stream", fusion="max")


def test_two_stream_flow_reads_the_clip_not_the_srm_residual() -> None:
    torch.manual_seed(0)
    model = create_model("two_stream", input_filter="srm", width=8).eval()
    assert isinstance(model, FilteredClassifier) and model.cam_layer == "net.rgb.features.2"
    clip = _moving_clip(2)
    with torch.no_grad():
        out = model(clip)
        assert torch.equal(out, model.net(model.stem(clip), raw=clip))
        assert not torch.equal(out, model.net(model.stem(clip)))
