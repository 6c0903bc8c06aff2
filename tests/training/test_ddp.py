"""DDP inside one cell on CPU (gloo, 2 processes): it matches one process with the same
effective batch, and a killed DDP fit resumes from last.ckpt.

DDP fits run tests/training/ddp_fit.py in a subprocess: ``ddp`` relaunches that file for rank
1 (each rank runs the fit, as under torchrun / SLURM), ``ddp_fork`` / ``ddp_spawn`` start both
ranks from it (the launcher gets the result, as in a Kedro node). Tolerance: per-rank BatchNorm statistics (half batches; SyncBatchNorm needs a GPU) and the
reduction order move the curves a little; see ``_close``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from aura.models.naive_cnn import FrameCNN
from aura.training import ClipItem, FitResult, TrainConfig, fit_clip_model
from aura.training.clips import BalancedBatchSampler
from aura.training.lightning import EpochShuffle, ValShard
from tests.conftest import make_clip_items

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tests" / "training" / "ddp_fit.py"
N_TRAIN = 12  # of 18 videos: 8 real + 4 fake train, 4 real + 2 fake select
BASE: dict[str, Any] = {
    "num_frames": 4,
    "clip_size": 32,
    "max_epochs": 3,
    "lr": 3e-3,
    "precision": "32-true",
    "accelerator": "cpu",
    "early_stopping_patience": 10,
}
TIMEOUT = 240  # s per subprocess fit; measured 23-83 s wall on 2 cores shared at load ~10


@pytest.fixture(scope="module")
def items(tmp_path_factory: pytest.TempPathFactory) -> list[ClipItem]:
    return make_clip_items(tmp_path_factory.mktemp("videos"), n=18)


@pytest.fixture(scope="module")
def single(items: list[ClipItem], tmp_path_factory: pytest.TempPathFactory) -> FitResult:
    """The reference: one process, batch 8 (= 2 ranks x 4)."""
    torch.manual_seed(0)
    net = FrameCNN(width=8, blocks=2)
    cfg = TrainConfig(**BASE, batch_size=8)
    return fit_clip_model(net, items[:N_TRAIN], items[N_TRAIN:], cfg, tmp_path_factory.mktemp("s"))


def _launch(items: list[ClipItem], tmp: Path, strategy: str, pause_at: int | None = None) -> Any:
    trainer = {**BASE, "batch_size": 4, "devices": 2, "strategy": strategy}
    args = {
        "items": [[i.video_id, str(i.path), i.target, i.n_frames] for i in items],
        "n_train": N_TRAIN,
        "trainer": trainer,
        "checkpoint_dir": str(tmp / "ckpt"),
        "out": str(tmp / "result.json"),
        "pause_at": pause_at,
    }
    (tmp / "args.json").write_text(json.dumps(args))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), str(tmp / "args.json")],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the ranks are killed together
    )


def _finish(child: Any, tmp: Path) -> dict[str, Any]:
    try:
        _, err = child.communicate(timeout=TIMEOUT)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
    assert child.returncode == 0, err.decode()[-3000:]
    return json.loads((tmp / "result.json").read_text())


def _close(ddp: dict[str, Any], single: FitResult) -> None:
    """Same epochs; per-epoch train/val loss within 1 % relative (measured: <= 0.05 %), val
    AUC within 0.05 (these easy videos reach AUC 1.0 in both runs: the losses are the check)."""
    assert [h["epoch"] for h in ddp["history"]] == [h["epoch"] for h in single.history]
    assert ddp["epochs_run"] == single.epochs_run
    for key in ("train_loss", "val_loss"):
        got = [h[key] for h in ddp["history"]]
        want = [h[key] for h in single.history]
        np.testing.assert_allclose(got, want, rtol=0.01, err_msg=key)
    got_auc = [h["val_auc"] for h in ddp["history"]]
    np.testing.assert_allclose(got_auc, [h["val_auc"] for h in single.history], atol=0.05)
    assert ddp["best_val_auc"] == pytest.approx(single.best_val_auc, abs=0.05)


def test_samplers_split_the_global_batch() -> None:
    """Two ranks' balanced batches of 4 are, step by step, one process's batches of 8."""
    targets = [0] * 7 + [1] * 3
    whole = list(BalancedBatchSampler(targets, 8, seed=1))
    ranks = [list(BalancedBatchSampler(targets, 4, 1, num_replicas=2, rank=r)) for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) == len(whole) == 2
    for b, batch in enumerate(whole):
        parts = [ranks[r][b] for r in (0, 1)]
        assert sorted(parts[0] + parts[1]) == sorted(batch)
        assert all(sum(targets[i] for i in p) == 2 for p in parts)  # 2 real + 2 fake each
    order = EpochShuffle(7, 0, 0).order
    shards = [EpochShuffle(7, 0, 0, batch_size=2, num_replicas=2, rank=r).order for r in (0, 1)]
    assert len(shards[0]) == len(shards[1]) == 4  # 7 padded to 8
    assert sorted(shards[0] + shards[1]) == sorted([*order, order[0]])
    assert [ValShard(5, num_replicas=2, rank=r).order for r in (0, 1)] == [[0, 2, 4], [1, 3, 0]]


@pytest.mark.slow
def test_ddp_matches_one_process(items: list[ClipItem], single: FitResult, tmp_path: Path) -> None:
    ddp = _finish(_launch(items, tmp_path, "ddp"), tmp_path)
    assert ddp["resumed_from"] is None
    _close(ddp, single)


@pytest.mark.slow
def test_killed_ddp_fit_resumes(items: list[ClipItem], single: FitResult, tmp_path: Path) -> None:
    # killed: ddp_fork (cheap to start); resumed: ddp_spawn, the launcher a Kedro node uses
    child = _launch(items, tmp_path, "ddp_fork", pause_at=1)
    marker, last = tmp_path / "result.json.paused", tmp_path / "ckpt" / "last.ckpt"
    try:
        deadline = time.monotonic() + TIMEOUT
        while not marker.exists():
            assert child.poll() is None, child.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline, "the DDP fit never reached epoch 1"
            time.sleep(0.2)
    finally:
        os.killpg(child.pid, signal.SIGKILL)  # the launcher and both ranks
        child.wait()
        child.stderr.close()
    assert torch.load(last, map_location="cpu", weights_only=True)["epoch"] == 0

    resumed = _finish(_launch(items, tmp_path, "ddp_spawn"), tmp_path)
    assert resumed["resumed_from"] == str(last)
    _close(resumed, single)


def test_devices_is_a_count() -> None:
    """The world size is fixed by the config (it is part of the checkpoint identity)."""
    assert TrainConfig(devices=4, num_nodes=2).world_size == 8
    for bad in ("auto", -1, 0):
        with pytest.raises(ValueError, match="devices"):
            TrainConfig(devices=bad)
