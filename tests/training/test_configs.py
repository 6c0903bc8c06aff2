"""Both shipped configurations are valid: conf/base (demo, CPU) and conf/fvc (paper scale, GPUs)."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from kedro.config import OmegaConfigLoader

from aura.models import BASELINES, build_baseline, create_model
from aura.pipelines.training.deep import LOOP_KEYS
from aura.training import TrainConfig
from aura.training.grid import grid_from_params
from tests.conftest import REPO


def _training(env: str) -> dict[str, Any]:
    loader = OmegaConfigLoader(str(REPO / "conf"), base_env="base", default_run_env=env)
    return loader["parameters"]["training"]


@pytest.mark.parametrize("env", ["base", "fvc"])
def test_grid_and_loop_settings_are_valid(env: str) -> None:
    training = _training(env)
    grid = grid_from_params(training)
    assert len(grid.models) == 8
    TrainConfig.from_dict(training["trainer"])
    for name in grid.models:
        if name in BASELINES:
            build_baseline(name, training["model_params"][name])


@pytest.mark.slow
def test_fvc_models_build_and_take_one_step_on_cpu() -> None:
    """`--env fvc` models at their paper-scale widths (pretrained off: no weights offline), one
    AdamW step each on a tiny clip batch (2 clips, T from the config, 64 px)."""
    training = _training("fvc")
    frames = int(training["trainer"]["num_frames"])
    torch.manual_seed(0)
    clips = torch.randn(2, 3, frames, 64, 64)
    target = torch.tensor([[0.0], [1.0]])
    for name in grid_from_params(training).models:
        if name in BASELINES:
            continue
        cfg = {k: v for k, v in training["model_params"][name].items() if k not in LOOP_KEYS}
        net = create_model(name, pretrained=False, **cfg)
        opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(net(clips), target)
        loss.backward()
        opt.step()
        assert torch.isfinite(loss), name
