"""Both shipped configurations are valid: conf/base (demo, CPU) and conf/fvc (paper scale, GPUs)."""

from __future__ import annotations

import pytest
import torch
from kedro.config import OmegaConfigLoader

from aura.models import FEATURES, build_baseline, build_model, model_entry
from aura.parameters import AuraConfig, resolve
from aura.settings import CONFIG_LOADER_ARGS
from aura.training.grid import grid_from_params
from tests.conftest import REPO


def _config(env: str) -> AuraConfig:
    """The resolved parameters of ``env`` as Kedro loads them (conf/base + conf/<env>, merged
    key by key)."""
    loader = OmegaConfigLoader(str(REPO / "conf"), **{**CONFIG_LOADER_ARGS, "default_run_env": env})
    return resolve(loader["parameters"])


@pytest.mark.parametrize("env", ["base", "fvc"])
def test_grid_and_loop_settings_are_valid(env: str) -> None:
    training = _config(env).training
    grid = grid_from_params(training)
    # 2 feature baselines, the metadata audit, 8 deep models (mvit_v2_s: --env demo_more)
    assert len(grid.models) == 11
    for name in grid.models:
        if model_entry(name).kind == FEATURES:
            build_baseline(name, training.settings(name))
        else:
            assert training.trainer_for(name, fold=1).seed == training.seed + 1


def test_fvc_states_only_what_differs_and_keeps_the_paper_setup() -> None:
    """conf/fvc is a delta over conf/base; what it leaves out comes from base or the schema."""
    base, fvc = _config("base"), _config("fvc")
    assert (fvc.corpus.kind, fvc.corpus.root) == ("fvc", "/data/fvc")
    assert fvc.corpus.extra_labels == base.corpus.extra_labels and fvc.ingest == base.ingest
    assert fvc.training.models == base.training.models and fvc.training.n_folds == 5
    trainer = fvc.training.trainer
    assert (trainer.num_frames, trainer.batch_size, trainer.max_epochs, trainer.lr) == (
        16,
        32,
        30,
        1e-4,
    )
    # demo choices of conf/base are set back, not inherited
    r3d = fvc.training.trainer_for("r3d18_inception")
    assert r3d.clip_size is None and r3d.num_frames == 16
    assert not fvc.training.settings("r3d18_inception").freeze_backbone  # type: ignore[attr-defined]
    assert fvc.training.settings("vit_gru").vit_kwargs is None  # type: ignore[attr-defined]
    assert trainer.clip_source == "scaled" and base.training.trainer.clip_source == "native_crop"
    assert fvc.training.settings("vit_transformer").img_size == 224  # type: ignore[attr-defined]
    assert fvc.training.settings("x3d").width_factor is None  # type: ignore[attr-defined]
    assert fvc.training.trainer_for("slowfast").precision == "auto"
    assert base.training.trainer_for("slowfast").precision == "32-true"
    assert fvc.scaling == base.scaling and fvc.augmentation == base.augmentation


@pytest.mark.slow
def test_fvc_models_build_and_take_one_step_on_cpu() -> None:
    """`--env fvc` models at their paper-scale widths (pretrained off: no weights offline), one
    AdamW step each on a tiny clip batch (2 clips, T from the config, 64 px)."""
    training = _config("fvc").training
    frames = training.trainer.num_frames
    torch.manual_seed(0)
    clips = torch.randn(2, 3, frames, 64, 64)
    target = torch.tensor([[0.0], [1.0]])
    for name in training.models:
        if model_entry(name).kind == FEATURES:
            continue
        settings = training.settings(name).model_copy(update={"pretrained": False})
        net = build_model(name, settings)
        opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(net(clips), target)
        loss.backward()
        opt.step()
        assert torch.isfinite(loss), name
