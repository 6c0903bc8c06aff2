"""The deep video registry: every model maps (N, 3, T, H, W) clips to (N, 1) logits and learns."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from aura.models import UnknownSettingError, create_model, list_models, model_defaults
from aura.models.weights import describe_pretrained

#: Tiny settings that train fast on a 2-core CPU at 8 frames × 112 px.
DEMO: dict[str, dict[str, Any]] = {
    "naive_cnn": {"width": 16},
    "r3d18_inception": {"branch_channels": 16},
    "vit_gru": {
        "vit_name": "vit_tiny_patch16_224",
        "vit_kwargs": {"depth": 2},
        "img_size": 112,
        "hidden": 64,
    },
    "vit_transformer": {
        "vit_name": "vit_tiny_patch16_224",
        "vit_kwargs": {"depth": 2},
        "img_size": 112,
    },
    "x3d": {"width_factor": 1.0, "depth_factor": 1.0, "head_dim_out": 256},
    "slowfast": {"depth": 18, "width": 32},
}


def _demo(name: str, **extra: Any) -> nn.Module:
    torch.manual_seed(0)
    return create_model(name, pretrained=False, **{**DEMO[name], **extra})


def _first_layer(model: nn.Module) -> nn.Module:
    return next(m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Conv3d | nn.Linear))


def test_list_models_is_the_six_families() -> None:
    assert list_models() == sorted(DEMO)


@pytest.mark.parametrize("name", sorted(DEMO))
def test_logits_for_any_clip_size_and_gradients_reach_first_layer(name: str) -> None:
    model = _demo(name)
    assert describe_pretrained(model) == "off"
    assert model.model_name == name and model.model_cfg == {**model_defaults(name), **DEMO[name]}
    out = model(torch.randn(2, 3, 8, 112, 112))
    assert out.shape == (2, 1) and torch.isfinite(out).all()
    out.sum().backward()
    grad = _first_layer(model).weight.grad
    assert grad is not None and grad.abs().sum() > 0
    with torch.no_grad():
        for t, side in [(16, 112), (8, 64)]:
            out = model(torch.randn(2, 3, t, side, side))
            assert out.shape == (2, 1) and torch.isfinite(out).all(), (t, side)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(DEMO))
def test_extreme_clip_sizes(name: str) -> None:
    model = _demo(name).eval()
    with torch.no_grad():
        for t, side in [(6, 112), (32, 64), (8, 224)]:
            out = model(torch.randn(1, 3, t, side, side))
            assert out.shape == (1, 1) and torch.isfinite(out).all(), (t, side)


def test_r3d18_inception_default_builds() -> None:
    model = create_model("r3d18_inception")
    assert 30e6 < sum(p.numel() for p in model.parameters()) < 40e6
    assert model.inception.out_channels == 4 * 64 and model.dropout.p == 0.5
    with torch.no_grad():
        assert model.eval()(torch.randn(1, 3, 8, 64, 64)).shape == (1, 1)


def test_freeze_backbone_trains_only_the_head() -> None:
    model = _demo("r3d18_inception", freeze_backbone=True).train()
    assert not any(p.requires_grad for p in model.backbone.parameters())
    assert not model.backbone.training and model.inception.training
    model(torch.randn(1, 3, 8, 64, 64)).sum().backward()
    assert model.fc.weight.grad is not None


@pytest.mark.parametrize("name", ["naive_cnn", "vit_gru"])
def test_one_adamw_step_lowers_the_loss(name: str) -> None:
    model = _demo(name).train()
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(4, 3, 8, 64, 64, generator=gen)
    y = torch.tensor([[0.0], [1.0], [0.0], [1.0]])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss = nn.functional.binary_cross_entropy_with_logits(model(x), y)
    loss.backward()
    opt.step()
    with torch.no_grad():
        after = nn.functional.binary_cross_entropy_with_logits(model(x), y)
    assert after < loss.detach()


def test_x3d_variant_head_is_logit_and_adaptive() -> None:
    model = create_model("x3d", variant="XS", width_factor=0.5, depth_factor=1.0, head_dim_out=64)
    head = model.net.blocks[-1]
    assert head.activation is None
    assert isinstance(head.pool.pool, nn.AdaptiveAvgPool3d)
    assert model.recommended_input == (4, 160)
    with pytest.raises(ValueError, match="variant must be one of"):
        create_model("x3d", variant="XL")


def test_slowfast_needs_alpha_frames() -> None:
    model = _demo("slowfast", alpha=4)
    with pytest.raises(ValueError, match="T >= 4"):
        model(torch.randn(1, 3, 3, 64, 64))
    with pytest.raises(ValueError, match="depth must be one of"):
        create_model("slowfast", depth=34)


def test_unknown_model_lists_known_names() -> None:
    with pytest.raises(ValueError, match="unknown model 'i3d'.*naive_cnn.*x3d"):
        create_model("i3d")


def test_unknown_setting_names_key_and_model() -> None:
    with pytest.raises(UnknownSettingError) as info:
        create_model("x3d", foo=1)
    assert isinstance(info.value, TypeError) and isinstance(info.value, ValueError)
    message = str(info.value)
    assert message.startswith("training.model_params.x3d.foo: unknown key; valid keys: ")
    assert "variant" in message and "width_factor" in message
    with pytest.raises(UnknownSettingError, match=r"x3d\.widht_factor: unknown key; did you mean "):
        create_model("x3d", widht_factor=1.0)


def test_bad_input_and_bad_settings_are_refused() -> None:
    model = _demo("naive_cnn")
    with pytest.raises(ValueError, match=r"\(N, 3, T, H, W\)"):
        model(torch.randn(2, 8, 3, 64, 64))
    with pytest.raises(ValueError, match="timm has no model"):
        create_model("vit_gru", vit_name="not_a_vit")
    with pytest.raises(ValueError, match="vit_kwargs may not set"):
        create_model("vit_gru", vit_kwargs={"num_classes": 5})
    with pytest.raises(ValueError, match="max_frames"):
        _demo("vit_transformer", max_frames=8)(torch.randn(1, 3, 9, 64, 64))
    with pytest.raises(ValueError, match="pretrained must be"):
        create_model("naive_cnn", pretrained="maybe")


def test_naive_cnn_has_no_pretrained_weights() -> None:
    with pytest.raises(ValueError, match="no pretrained weights"):
        create_model("naive_cnn", pretrained=True)
    assert describe_pretrained(create_model("naive_cnn", pretrained="auto")).startswith("scratch")
    assert describe_pretrained(create_model("naive_cnn", pretrained="false")) == "off"
