"""The model registry: feature baselines and deep video models in one place; every deep model maps
(N, 3, T, H, W) clips to (N, 1) logits and learns."""

from __future__ import annotations

import json
from typing import Any

import pytest
import torch
from sklearn.pipeline import Pipeline
from torch import nn

from aura.config import Section
from aura.models import (
    CLIPS,
    FEATURES,
    ModelSettings,
    UnknownSettingError,
    create_model,
    list_models,
    model_defaults,
    model_entry,
    model_settings,
    register_model,
)
from aura.models.weights import describe_pretrained
from tests.conftest import DEMO, HEAVY

#: Tiny settings that train fast on a 2-core CPU at 8 frames × 112 px.


def _demo(name: str, **extra: Any) -> nn.Module:
    torch.manual_seed(0)
    return create_model(name, pretrained=False, **{**DEMO[name], **extra})


def _first_layer(model: nn.Module) -> nn.Module:
    return next(m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Conv3d | nn.Linear))


BASELINES = ["logistic_regression", "metadata", "svm"]  # sorted


def test_one_registry_lists_both_kinds() -> None:
    assert list_models(kind=CLIPS) == list_models(kind="clips") == sorted([*DEMO, *HEAVY])
    assert list_models(kind=FEATURES) == BASELINES
    assert list_models() == sorted([*DEMO, *HEAVY, *BASELINES])
    # registration order: cheap models first
    assert list_models(sort=False)[:3] == ["logistic_regression", "svm", "metadata"]
    with pytest.raises(ValueError, match="unknown model kind 'pixels'"):
        list_models(kind="pixels")
    for name in list_models():
        entry = model_entry(name)
        assert entry.kind == (FEATURES if name in BASELINES else CLIPS)
        assert entry.releasable == (name != "metadata")  # the audit model is never released
        schema = model_settings(name)
        assert issubclass(schema, Section) and entry.settings is schema
        assert issubclass(schema, ModelSettings) == (entry.kind == CLIPS)
        assert model_defaults(name) == {
            k: v for k, v in schema().model_dump().items() if k not in ModelSettings.model_fields
        }


@pytest.mark.parametrize("name", BASELINES)
def test_create_model_of_a_baseline_is_its_unfitted_pipeline(name: str) -> None:
    pipe = create_model(name, C=0.25, seed=3)
    assert isinstance(pipe, Pipeline) and not hasattr(pipe, "classes_")
    params = pipe.get_params()
    assert 0.25 in (params.get("model__C"), params.get("model__estimator__C"))
    assert 3 in (params.get("model__random_state"), params.get("model__estimator__random_state"))
    with pytest.raises(UnknownSettingError, match=rf"model_params\.{name}\.width: unknown key"):
        create_model(name, width=3)
    with pytest.raises(ValueError, match=f"{name} is a features model: it has no pretrained"):
        create_model(name, pretrained=True)


def test_builders_must_follow_their_kind_convention() -> None:
    def clip_without_weights(*, width: int = 1) -> torch.nn.Module:
        return torch.nn.Linear(width, 1)

    with pytest.raises(TypeError, match="must take a keyword argument 'pretrained'"):
        register_model(clip_without_weights)

    def features_without_settings(cfg: Section, *, seed: int = 0) -> Pipeline:
        return Pipeline([])

    with pytest.raises(TypeError, match="needs settings="):
        register_model(features_without_settings, kind=FEATURES)
    assert "clip_without_weights" not in list_models()
    assert "features_without_settings" not in list_models()


@pytest.mark.parametrize("name", sorted(DEMO))
def test_logits_for_any_clip_size_and_gradients_reach_first_layer(name: str) -> None:
    model = _demo(name)
    assert describe_pretrained(model) == "off"
    # recorded as JSON values (a tuple setting as a list), as the artifact stores it
    assert model.model_name == name and model.model_cfg == json.loads(
        json.dumps({"input_filter": "rgb", **model_defaults(name), **DEMO[name]})
    )
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


def test_default_order_does_not_depend_on_import_order() -> None:
    """A process that imports a late family module first (as a test module or a notebook may)
    still gets training.models' default in FAMILY_MODULES order."""
    import subprocess
    import sys

    script = (
        "import aura.models.two_stream, aura.models.mvit\n"
        "from aura.models import list_models\n"
        "print(','.join(list_models(sort=False)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True
    )
    assert out.stdout.strip().splitlines()[-1].split(",") == list_models(sort=False)
    assert list_models(sort=False)[:4] == ["logistic_regression", "svm", "metadata", "naive_cnn"]
