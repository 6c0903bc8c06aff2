"""The Lightning clip-model loop: module, data module, fit (determinism, resume, OOM), predict.

The tiny Conv3d model is a fixture; the thing under test is the loop around it.
"""

from __future__ import annotations

import math
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import lightning as L
import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from aura.training import lightning as lightning_mod
from aura.training.clips import ClipDataset, ClipItem
from aura.training.fit import (
    FitResult,
    TrainConfig,
    best_epoch,
    fit_clip_model,
    predict_clips,
    resolve_precision,
)
from aura.training.lightning import ClipClassifier, ClipDataModule, warmup_cosine
from tests.conftest import make_clip_items

REPO = Path(__file__).resolve().parents[2]
# Lightning 2.6 calls a pytree API that torch 2.14 deprecates (fit_clip_model silences it itself).
pytestmark = pytest.mark.filterwarnings("ignore:.*LeafSpec.*:FutureWarning")
FRAMES = 4


class Tiny(nn.Module):
    """Conv3d(3, 4, 3) -> global average pool -> Linear(4, 1); seeded initialisation."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.conv = nn.Conv3d(3, 4, 3)
            self.fc = nn.Linear(4, 1)
        self.pool = nn.AdaptiveAvgPool3d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(torch.relu(self.conv(x))).flatten(1))


class OomAbove(Tiny):
    """Raises CUDA out-of-memory for batches of more than ``limit`` clips."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] > self.limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return super().forward(x)


class PauseAt(L.Callback):
    """At the start of epoch ``epoch``: write ``marker``, then sleep (to be killed)."""

    def __init__(self, epoch: int, marker: Path) -> None:
        self.epoch, self.marker = epoch, marker

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch == self.epoch:
            self.marker.write_text(str(os.getpid()))
            time.sleep(600)


class EpochSpy(L.Callback):
    def __init__(self) -> None:
        self.started: list[int] = []

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.started.append(trainer.current_epoch)


def cfg(**kw: Any) -> TrainConfig:
    base: dict[str, Any] = {"num_frames": FRAMES, "batch_size": 4, "max_epochs": 2, "lr": 1e-2}
    return TrainConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def items(tmp_path_factory: pytest.TempPathFactory) -> list[ClipItem]:
    return make_clip_items(tmp_path_factory.mktemp("videos"))


@pytest.fixture(scope="module")
def split(items: list[ClipItem]) -> tuple[list[ClipItem], list[ClipItem]]:
    return items[:8], items[8:]  # 3 + 1 fake


@pytest.fixture(scope="module")
def fitted(
    split: tuple[list[ClipItem], list[ClipItem]], tmp_path_factory: pytest.TempPathFactory
) -> tuple[FitResult, Tiny]:
    model = Tiny()
    return fit_clip_model(model, *split, cfg(), tmp_path_factory.mktemp("fit")), model


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ---- TrainConfig / precision ----


def test_config_defaults_and_unknown_key() -> None:
    c = TrainConfig.from_params({"batch_size": 4, "effective_batch_size": 16})
    assert (c.num_frames, c.max_epochs, c.lr, c.precision) == (8, 3, 1e-4, "auto")
    assert c.accumulate_grad_batches == 4 and TrainConfig().accumulate_grad_batches == 1
    with pytest.raises(ValueError, match=r"training\.trainer\.bogus"):
        TrainConfig.from_params({"bogus": 1})
    for bad in ({"batch_size": 3}, {"effective_batch_size": 6}, {"class_weighting": "x"}):
        with pytest.raises(ValueError, match=rf"training\.trainer\.{next(iter(bad))}"):
            TrainConfig.from_params(bad)


def test_resolve_precision(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_precision("32-true") == "32-true"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for supported, expected in ((True, "bf16-mixed"), (False, "32-true")):
        monkeypatch.setattr(lightning_mod, "cpu_bf16_supported", lambda s=supported: s)
        assert resolve_precision("auto") == expected
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    for supported, expected in ((True, "bf16-mixed"), (False, "16-mixed")):
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda s=supported: s)
        assert resolve_precision("auto") == expected
        assert resolve_precision("auto", accelerator="cpu") == "32-true"


# ---- LightningModule / DataModule ----


def test_warmup_cosine_schedule() -> None:
    f = warmup_cosine(4, 20)
    assert [f(s) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    decay = [f(s) for s in range(4, 21)]
    assert decay[0] == 1.0 and decay[-1] == pytest.approx(0.0) and decay == sorted(decay)[::-1]
    assert warmup_cosine(0, 10)(0) == 1.0


def _trainer(**kw: Any) -> L.Trainer:
    opts = {"logger": False, "enable_progress_bar": False, "enable_model_summary": False}
    return L.Trainer(accelerator="cpu", enable_checkpointing=False, **{**opts, **kw})


@pytest.mark.filterwarnings("ignore:You defined a `validation_step` but have no `val_dataloader`")
def test_one_step_lowers_the_loss(items: list[ClipItem]) -> None:
    x, y = next(iter(DataLoader(ClipDataset(items[:6], FRAMES, train=False), batch_size=6)))
    module = ClipClassifier(Tiny(), lr=1e-2, weight_decay=0.0, warmup_epochs=0)

    def loss() -> float:
        with torch.no_grad():
            return module.loss_fn(module(x), y).item()

    before = loss()
    _trainer(max_steps=1).fit(module, DataLoader(TensorDataset(x, y), batch_size=6))
    assert loss() < before


def test_validation_auc_over_the_set_and_one_class(items: list[ClipItem]) -> None:
    module = ClipClassifier(Tiny())
    val = DataLoader(ClipDataset(items[6:], FRAMES, train=False), batch_size=4)  # 2 batches
    trainer = _trainer()
    trainer.validate(module, val, verbose=False)
    assert {"val_loss", "val_auc"} <= set(trainer.callback_metrics)
    assert module.val_probs is not None and len(module.val_probs) == 6
    np.testing.assert_array_equal(module.val_targets, [it.target for it in items[6:]])
    reals = DataLoader(ClipDataset([items[1], items[2]], FRAMES, train=False), batch_size=2)
    trainer = _trainer()
    trainer.validate(module, reals, verbose=False)
    assert "val_auc" not in trainer.callback_metrics and "val_loss" in trainer.callback_metrics
    assert len(module.val_probs) == 2


def test_pos_weight() -> None:
    assert ClipClassifier(Tiny(), pos_weight=2.5).loss_fn.pos_weight.tolist() == [2.5]
    assert ClipClassifier(Tiny()).loss_fn.pos_weight is None


def test_datamodule_epochs_and_balance(split: tuple[list[ClipItem], list[ClipItem]]) -> None:
    train, val = split
    dm = ClipDataModule(train, val, num_frames=FRAMES, batch_size=4)
    batches = {}
    for epoch in (0, 1):
        dm.trainer = SimpleNamespace(current_epoch=epoch)  # type: ignore[assignment]
        loader = dm.train_dataloader()
        batches[epoch] = list(loader)
        assert len(loader) == 3 and all(y.sum().item() == 2 for _, y in batches[epoch])
        assert dm.train_set.epoch == epoch
    assert not torch.equal(batches[0][0][0], batches[1][0][0])
    vals = [y for _, y in dm.val_dataloader()]
    assert torch.cat(vals).tolist() == [it.target for it in val]
    plain = ClipDataModule(train, val, num_frames=FRAMES, batch_size=3, balanced_batches=False)
    assert len(plain.train_dataloader()) == math.ceil(8 / 3)


# ---- fit_clip_model ----


def test_fit_fills_the_result(fitted: tuple[FitResult, Tiny], tmp_path: Path) -> None:
    result, model = fitted
    assert result.epochs_run == 2 and [h["epoch"] for h in result.history] == [0, 1]
    assert {"train_loss", "val_loss", "val_auc", "lr"} <= set(result.history[0])
    assert result.best_val_auc is not None and 0.5 < result.best_val_auc <= 1.0
    # best_epoch is the epoch ModelCheckpoint kept, and its AUC is the best one
    assert result.best_epoch is not None and result.best_checkpoint
    assert f"epoch={result.best_epoch:02d}" in Path(result.best_checkpoint).name
    assert result.history[result.best_epoch]["val_auc"] == pytest.approx(result.best_val_auc)
    assert (result.batch_size, result.accumulate_grad_batches) == (4, 1)
    assert result.precision == resolve_precision("auto", "cpu") and not result.resumed_from
    assert result.config["num_frames"] == FRAMES and result.stopped_early is False
    assert all(v.device.type == "cpu" for v in result.state_dict.values())
    fresh = Tiny(seed=1)
    fresh.load_state_dict(result.state_dict)
    torch.save(result.state_dict, tmp_path / "w.pt")
    assert same_weights(torch.load(tmp_path / "w.pt", weights_only=True), result.state_dict)
    assert same_weights(model.state_dict(), result.state_dict)  # best weights left in model


def test_fit_is_deterministic(
    fitted: tuple[FitResult, Tiny], split: tuple[list[ClipItem], list[ClipItem]], tmp_path: Path
) -> None:
    again = fit_clip_model(Tiny(), *split, cfg(), tmp_path)
    assert same_weights(again.state_dict, fitted[0].state_dict)
    assert again.history == fitted[0].history


def test_worker_processes_change_nothing(
    split: tuple[list[ClipItem], list[ClipItem]], tmp_path: Path
) -> None:
    runs = [
        fit_clip_model(
            Tiny(), *split, cfg(num_workers=w, balanced_batches=False), tmp_path / str(w)
        )
        for w in (0, 2)
    ]
    assert runs[0].history == runs[1].history
    assert same_weights(runs[0].state_dict, runs[1].state_dict)


def test_predict_clips(fitted: tuple[FitResult, Tiny], items: list[ClipItem]) -> None:
    model = fitted[1].train()
    probs = predict_clips(model, items, FRAMES, batch_size=5)
    assert probs.shape == (12,) and np.all((probs > 0) & (probs < 1)) and model.training
    np.testing.assert_allclose(predict_clips(model, items[::-1], FRAMES), probs[::-1], atol=1e-6)
    fake = np.array([it.target for it in items]) == 1
    assert probs[fake].min() > probs[~fake].max()  # the fixture data is easy
    assert predict_clips(model, [], FRAMES).shape == (0,)


def test_one_class_validation_selects_on_loss(items: list[ClipItem], tmp_path: Path) -> None:
    reals = [it for it in items[8:] if it.target == 0]
    result = fit_clip_model(Tiny(), items[:8], reals, cfg(max_epochs=1), tmp_path)
    assert result.best_val_auc is None and "val_auc" not in result.history[0]
    assert result.best_checkpoint and Path(result.best_checkpoint).is_file()
    assert result.best_epoch == 0  # selected on the validation loss


def test_best_epoch_follows_the_monitor() -> None:
    history = [{"epoch": 0, "val_auc": 0.7}, {"epoch": 1, "val_auc": 0.9}, {"epoch": 2}]
    history.append({"epoch": 3, "val_auc": 0.9})  # a tie keeps the first, as ModelCheckpoint
    assert best_epoch(history, "val_auc", "max") == 1
    losses = [{"epoch": 0, "val_loss": 0.5}, {"epoch": 1, "val_loss": float("nan")}]
    assert best_epoch(losses, "val_loss", "min") == 0
    assert best_epoch([{"epoch": 0, "val_loss": 0.5}], "val_auc", "max") is None


def test_oom_halves_the_batch_and_keeps_the_effective_batch(
    split: tuple[list[ClipItem], list[ClipItem]], tmp_path: Path
) -> None:
    model = OomAbove(2)
    result = fit_clip_model(model, *split, cfg(batch_size=8, max_epochs=1), tmp_path / "a")
    assert (result.batch_size, result.accumulate_grad_batches) == (2, 4)
    assert model.training  # the failed tries (OOM in validation) left no module in eval mode
    # The retry starts from the initial weights: same as asking for batch 2 x 4 directly.
    direct = cfg(batch_size=2, effective_batch_size=8, max_epochs=1)
    assert same_weights(
        result.state_dict, fit_clip_model(Tiny(), *split, direct, tmp_path / "b").state_dict
    )


@pytest.mark.parametrize(("balanced", "batch"), [(True, 4), (False, 2)])
def test_oom_at_the_smallest_batch_is_raised(
    split: tuple[list[ClipItem], list[ClipItem]], tmp_path: Path, balanced: bool, batch: int
) -> None:
    c = cfg(batch_size=batch, max_epochs=1, balanced_batches=balanced)
    with pytest.raises(torch.cuda.OutOfMemoryError, match="simulated"):
        fit_clip_model(OomAbove(0), *split, c, tmp_path)


_CHILD = """
import pickle, sys, torch
from tests.training.test_lightning import PauseAt, Tiny, cfg
from aura.training.fit import fit_clip_model
train, val, ckpt, marker = pickle.loads(open(sys.argv[1], "rb").read())
fit_clip_model(Tiny(), train, val, cfg(max_epochs=4), ckpt, callbacks=[PauseAt(2, marker)])
"""


@pytest.mark.slow
def test_killed_fit_resumes_from_last_checkpoint(
    split: tuple[list[ClipItem], list[ClipItem]], tmp_path: Path
) -> None:
    ckpt, marker = tmp_path / "ckpt", tmp_path / "paused"
    (tmp_path / "args.pkl").write_bytes(pickle.dumps((*split, ckpt, marker)))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(tmp_path / "args.pkl")],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None, child.stderr.read().decode()[-3000:]  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the child never reached epoch 2"
            time.sleep(0.1)
        assert (ckpt / "last.ckpt").is_file()
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stderr.close()  # type: ignore[union-attr]
    saved = torch.load(ckpt / "last.ckpt", map_location="cpu", weights_only=True)
    assert saved["epoch"] == 1  # the checkpoint of the last finished epoch

    spy = EpochSpy()
    resumed = fit_clip_model(Tiny(), *split, cfg(max_epochs=4), ckpt, callbacks=[spy])
    assert resumed.resumed_from == str(ckpt / "last.ckpt")
    assert spy.started == [2, 3]  # continued; epochs 0 and 1 were not run again
    assert resumed.epochs_run == 4 and [h["epoch"] for h in resumed.history] == [0, 1, 2, 3]
    # Same result as an uninterrupted run.
    whole = fit_clip_model(Tiny(), *split, cfg(max_epochs=4), tmp_path / "whole")
    assert resumed.history == whole.history
    assert same_weights(resumed.state_dict, whole.state_dict)


def test_finished_fit_is_not_trained_again(
    split: tuple[list[ClipItem], list[ClipItem]], tmp_path: Path
) -> None:
    first = fit_clip_model(Tiny(), *split, cfg(max_epochs=1), tmp_path)
    spy = EpochSpy()
    again = fit_clip_model(Tiny(), *split, cfg(max_epochs=1), tmp_path, callbacks=[spy])
    assert spy.started == [] and again.resumed_from and again.history == first.history
    assert same_weights(again.state_dict, first.state_dict)


def test_a_diverging_loss_stops_with_a_clear_error() -> None:
    """A non-finite loss raises naming the knobs to turn, instead of NaN scores downstream."""
    import lightning as L

    class Exploding(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return (x.mean(dim=(1, 2, 3, 4)) * self.w * float("inf")).reshape(-1, 1)

    module = ClipClassifier(Exploding())
    trainer = L.Trainer(
        max_steps=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    batch = (torch.randn(2, 3, 4, 8, 8), torch.tensor([0.0, 1.0]))
    loader = torch.utils.data.DataLoader(
        [(batch[0][i], batch[1][i]) for i in range(2)], batch_size=2
    )
    with pytest.raises(FloatingPointError, match="training.trainer.lr"):
        trainer.fit(module, train_dataloaders=loader)
