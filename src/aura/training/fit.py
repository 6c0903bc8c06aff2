"""Fit one clip model on one fold with Lightning: config, resume, OOM back-off, prediction.

:func:`fit_clip_model` builds a :class:`~lightning.Trainer` (mixed precision, gradient
accumulation, early stopping and checkpointing on ``val_auc``), resumes from
``checkpoint_dir/last.ckpt`` when a killed run left one, halves the batch on CUDA out-of-memory,
and returns the best checkpoint's weights as a plain CPU state dict.

DDP (``devices`` / ``num_nodes`` > 1): ``batch_size`` is per device; the loaders split the data
by rank (:class:`~aura.training.lightning.ClipDataModule`); rank 0 writes the checkpoints, which
every rank then reads back, so each rank (or, with ``ddp_spawn``, the launching process) returns
the same :class:`FitResult`. ``checkpoint_dir`` must be on a filesystem every node sees.
"""

from __future__ import annotations

import gc
import logging
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint
from lightning.pytorch.strategies.launchers import _MultiProcessingLauncher
from pydantic import Field, field_validator, model_validator
from torch import nn
from torch.multiprocessing.spawn import ProcessRaisedException
from torch.utils.data import DataLoader

from aura.config import FieldProblem, Section
from aura.training.clips import ClipDataset, ClipItem, class_pos_weight
from aura.training.lightning import (
    ClipClassifier,
    ClipDataModule,
    EpochHistory,
    resolve_precision,
)
from aura.training.losses import Loss, make_loss

log = logging.getLogger(__name__)

CLASS_WEIGHTING = ("none", "inverse_frequency")  # training.trainer.class_weighting
LAST = "last"  # checkpoint_dir/last.ckpt: the latest epoch, resumed from
#: Lightning warnings that say nothing for this loop (workers are a config choice; tiny folds;
#: Lightning 2.6 calling a pytree API that torch 2.14 deprecates).
_QUIET = (
    r".*isinstance\(treespec, LeafSpec\)` is deprecated.*",
    r".*does not have many workers.*",
    r".*number of training batches .* is smaller than the logging interval.*",
    r".*`ModelCheckpoint\(monitor=.*\)` could not find the monitored key.*",
)
_RESUME_QUIET = (r"Checkpoint directory .* exists and is not empty",)


class TrainConfig(Section):
    """``training.trainer`` settings of the clip-model loop (defaults here, not in conf/base)."""

    PREFIX: ClassVar[str] = "training.trainer"

    num_frames: int = Field(8, ge=1)
    # where clips come from: "scaled" = the stage-3 videos (letterboxed to clip_size, None: their
    # own size); "native_crop" = a crop_size x crop_size window of the stage-1 file at native
    # resolution (no resizing; clip_size is not used), random per epoch in training, centred in
    # validation and inference; a side shorter than crop_size is zero-padded, centred
    clip_source: Literal["scaled", "native_crop"] = "scaled"
    clip_size: int | None = Field(None, ge=8)
    crop_size: int = Field(64, ge=8)
    # decoded training/selection clips are kept here and shared by every cell of a fold and by
    # re-runs (aura.training.clips.ClipDataset); None: decode every clip every epoch
    clip_cache_dir: str | None = None
    batch_size: int = Field(8, ge=1)
    effective_batch_size: int | None = None  # None: = batch_size (no accumulation)
    max_epochs: int = Field(3, ge=1)
    lr: float = Field(1e-4, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    warmup_epochs: float = Field(1, ge=0)
    precision: str | int = "auto"
    early_stopping_patience: int = Field(3, ge=0)
    balanced_batches: bool = True
    class_weighting: Literal[CLASS_WEIGHTING] = "none"
    # aura.training.losses: bce | focal (torchvision sigmoid_focal_loss) | class_balanced (Cui
    # et al. 2019 effective-number weights from the fit set's class counts)
    loss: Loss = "bce"
    focal_gamma: float = Field(2.0, ge=0)
    focal_alpha: float | None = Field(None, ge=0, le=1)  # None: no class weight in the focal loss
    cb_beta: float = Field(0.999, ge=0, lt=1)
    # platt: after the fit, the model's logit is mapped by a * z + b fitted on the selection
    # videos (aura.models.calibrated; L2 penalty 1 / calibration_c), so the K fold models share
    # one scale in pooled out-of-fold metrics and in the fold ensemble; none: the raw logit
    calibration: Literal["none", "platt"] = "none"
    calibration_c: float = Field(1.0, gt=0)
    seed: int = Field(0, ge=0)
    num_workers: int = Field(0, ge=0)
    accelerator: str = "auto"
    # DDP inside the cell: devices per node x num_nodes processes, batch_size per device (the
    # effective batch is batch_size x devices x num_nodes x accumulation). A count, never
    # "auto": the checkpoint identity (the resolved config) must fix the world size. strategy:
    # any Lightning name; "ddp_spawn" runs from inside a Kedro node, "ddp" relaunches the
    # command per device (or joins torchrun / SLURM srun processes: Lightning's own
    # cluster environments).
    devices: int = Field(1, ge=1)
    strategy: str = "auto"
    num_nodes: int = Field(1, ge=1)
    # True: strict torch determinism - on CUDA it raises for ops with no deterministic kernel
    # (e.g. the backward of adaptive pooling to sizes > 1); "warn": warn there instead.
    deterministic: bool | Literal["warn"] = True
    progress_bar: bool = False

    @field_validator("deterministic", mode="before")
    @classmethod
    def _deterministic(cls, value: Any) -> bool | str:
        word = value.strip().lower() if isinstance(value, str) else value
        if word in (True, False, "warn"):
            return word
        if word in ("true", "false"):
            return word == "true"
        raise ValueError("must be true, false or 'warn'")

    @model_validator(mode="after")
    def _batches(self) -> TrainConfig:
        if self.class_weighting != "none" and self.loss != "bce":
            raise FieldProblem(
                "class_weighting",
                f"applies to loss bce only (loss {self.loss} weighs classes itself)",
                self.class_weighting,
            )
        if self.balanced_batches and self.batch_size % 2:
            raise FieldProblem(
                "batch_size",
                "must be even with balanced_batches (half real, half fake)",
                self.batch_size,
            )
        eff = self.effective_batch_size
        if eff is not None and (eff < self.batch_size or eff % self.batch_size):
            raise FieldProblem(
                "effective_batch_size", f"must be a multiple of batch_size {self.batch_size}", eff
            )
        return self

    @property
    def world_size(self) -> int:
        """Processes one fit runs on (DDP ranks)."""
        return self.devices * self.num_nodes

    @property
    def accumulate_grad_batches(self) -> int:
        return (self.effective_batch_size or self.batch_size) // self.batch_size

    @property
    def letterbox_size(self) -> int | None:
        """The size scaled clips are letterboxed to (None: own size, or native crops)."""
        return self.clip_size if self.clip_source == "scaled" else None

    @property
    def native_crop_size(self) -> int | None:
        """The side of the native-resolution crops (None: scaled clips)."""
        return self.crop_size if self.clip_source == "native_crop" else None


@dataclass
class FitResult:
    """What one fit produced; ``state_dict`` is the best checkpoint's model weights on CPU."""

    state_dict: dict[str, torch.Tensor]
    config: dict[str, Any]
    batch_size: int
    accumulate_grad_batches: int
    precision: str | int
    epochs_run: int
    best_val_auc: float | None
    stopped_early: bool
    resumed_from: str | None
    history: list[dict[str, float]] = field(default_factory=list)
    best_checkpoint: str | None = None
    best_epoch: int | None = None  # 0-based epoch whose weights were kept (None: none scored)


def best_epoch(history: Sequence[dict[str, float]], monitor: str, mode: str) -> int | None:
    """The epoch of ``history`` with the best finite ``monitor`` (the first one on ties, as
    :class:`ModelCheckpoint` keeps it); ``None`` when no epoch has it."""
    scored = [
        (row[monitor], int(row["epoch"]))
        for row in history
        if monitor in row and math.isfinite(row[monitor])
    ]
    if not scored:
        return None
    pick = max if mode == "max" else min
    return pick(scored, key=lambda s: s[0])[1]


def _model_weights(ckpt_path: str | Path) -> dict[str, torch.Tensor]:
    """The wrapped model's weights from a :class:`ClipClassifier` checkpoint, on CPU."""
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    prefix = "model."
    return {
        k[len(prefix) :]: v.detach().cpu().clone()
        for k, v in ckpt["state_dict"].items()
        if k.startswith(prefix)
    }


def _train_modes(model: nn.Module) -> dict[str, bool]:
    return {name: m.training for name, m in model.named_modules()}


def _set_train_modes(model: nn.Module, modes: dict[str, bool]) -> None:
    """Per-module train/eval flags back as recorded (a frozen BatchNorm stays in eval)."""
    for name, m in model.named_modules():
        m.training = modes.get(name, m.training)


def _smaller_batch(batch_size: int, balanced: bool) -> int | None:
    """Half the batch (even and >= 2 for balanced batches); None when it cannot shrink."""
    floor = 2 if balanced else 1
    half = batch_size // 2
    if balanced:
        half -= half % 2
    return max(half, floor) if batch_size > floor else None


def _out_of_memory(error: BaseException) -> bool:
    """CUDA out-of-memory here, or in a ``ddp_spawn`` rank (it comes back as its traceback)."""
    if isinstance(error, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(error, ProcessRaisedException) and "OutOfMemoryError" in str(error)


def _restore_from_last(last: Path, callbacks: Sequence[Callback]) -> int:
    """The callbacks' states as ``last.ckpt`` saved them; the epochs run.

    For spawned ranks (``ddp_spawn``): the launching process gets their weights and best path
    back from Lightning, not the callbacks' states or the epoch count; rank 0 saved them here.
    """
    ckpt = torch.load(last, map_location="cpu", weights_only=True)
    saved = ckpt.get("callbacks", {})
    for cb in callbacks:
        if cb.state_key in saved:
            cb.load_state_dict(saved[cb.state_key])
    return int(ckpt["epoch"]) + 1


def fit_clip_model(
    model: nn.Module,
    train: Sequence[ClipItem],
    val: Sequence[ClipItem],
    cfg: TrainConfig,
    checkpoint_dir: Path,
    *,
    callbacks: Sequence[Callback] = (),
) -> FitResult:
    """Train ``model`` on ``train``, select on ``val``; leaves the best weights in ``model``.

    An empty ``val`` selects nothing: no validation, no early stopping, ``max_epochs`` are run
    and the last epoch's weights kept (``best_epoch`` and ``best_val_auc`` are ``None``).

    On ``torch.cuda.OutOfMemoryError`` the batch is halved and accumulation raised to keep the
    effective batch, and the fit retried (from ``model``'s initial weights, or ``last.ckpt``);
    at the smallest batch the error is re-raised. With ``ddp_spawn`` a rank's out-of-memory
    ends all ranks and the launching process retries them all; where each rank runs this
    function itself (``ddp``, torchrun, SLURM) a rank cannot retry alone: a
    :class:`RuntimeError` says to lower ``batch_size``. ``callbacks`` are added to the Trainer.
    """
    if not train:
        raise ValueError("fit_clip_model needs training clips, got none")
    checkpoint_dir = Path(checkpoint_dir)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    initial = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    # A failed try can leave modules in eval mode (OOM during validation): restore them too.
    modes = _train_modes(model)
    batch, accumulate = cfg.batch_size, cfg.accumulate_grad_batches
    effective = batch * accumulate
    while True:
        try:
            return _fit_once(model, train, val, cfg, checkpoint_dir, batch, accumulate, callbacks)
        except (torch.cuda.OutOfMemoryError, ProcessRaisedException) as e:
            smaller = _smaller_batch(batch, cfg.balanced_batches)
            if smaller is None or not _out_of_memory(e):
                raise
            log.warning("out of memory at batch_size %d (%s); retrying with %d", batch, e, smaller)
        # Outside the except block the error's traceback, and the tensors it holds, are gone.
        batch, accumulate = smaller, math.ceil(effective / smaller)
        model.load_state_dict(initial)
        _set_train_modes(model, modes)
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _fit_once(
    model: nn.Module,
    train: Sequence[ClipItem],
    val: Sequence[ClipItem],
    cfg: TrainConfig,
    checkpoint_dir: Path,
    batch_size: int,
    accumulate: int,
    callbacks: Sequence[Callback],
) -> FitResult:
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    precision = resolve_precision(cfg.precision, cfg.accelerator)
    pos_weight = None
    if cfg.class_weighting == "inverse_frequency":
        pos_weight = class_pos_weight([it.target for it in train])
    loss_fn = make_loss(
        cfg.loss,
        [it.target for it in train],
        pos_weight=pos_weight,
        focal_gamma=cfg.focal_gamma,
        focal_alpha=cfg.focal_alpha,
        cb_beta=cfg.cb_beta,
    )
    module = ClipClassifier(
        model,
        lr=cfg.lr,
        weight_decay=cfg.weight_decay,
        warmup_epochs=cfg.warmup_epochs,
        loss_fn=loss_fn,
    )
    data = ClipDataModule(
        train,
        val,
        num_frames=cfg.num_frames,
        batch_size=batch_size,
        balanced_batches=cfg.balanced_batches,
        num_workers=cfg.num_workers,
        seed=cfg.seed,
        size=cfg.letterbox_size,
        crop=cfg.native_crop_size,
        cache_dir=cfg.clip_cache_dir,
    )
    # AUC needs both classes in validation; otherwise select on the validation loss.
    by_auc = len({int(it.target) for it in val}) == 2
    monitor, mode = ("val_auc", "max") if by_auc else ("val_loss", "min")
    best = ModelCheckpoint(
        dirpath=checkpoint_dir,
        filename="best-{epoch:02d}",
        monitor=monitor,
        mode=mode,
        save_top_k=1,
        save_on_train_epoch_end=True,  # after EpochHistory logged the epoch: history is saved
    )
    # `last.ckpt` every epoch, for resuming. Not `save_last=True`: since Lightning 2.6 that only
    # writes last.ckpt in epochs where the monitored metric improved.
    latest = ModelCheckpoint(
        dirpath=checkpoint_dir,
        filename=LAST,
        monitor=None,
        save_top_k=1,
        save_on_train_epoch_end=True,
        enable_version_counter=False,
    )
    stop = EarlyStopping(monitor=monitor, mode=mode, patience=cfg.early_stopping_patience)
    state = EpochHistory()
    last = checkpoint_dir / f"{LAST}.ckpt"
    resumed_from = str(last) if last.is_file() else None
    quiet = _QUIET + (_RESUME_QUIET if resumed_from else ())
    # Trainer(deterministic=...) switches torch's global flag; put it back afterwards.
    flags = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        trainer = L.Trainer(
            accelerator=cfg.accelerator,
            devices=cfg.devices,
            strategy=cfg.strategy,
            num_nodes=cfg.num_nodes,
            use_distributed_sampler=False,  # ClipDataModule splits the data by rank itself
            precision=precision,
            max_epochs=cfg.max_epochs,
            accumulate_grad_batches=accumulate,
            deterministic=cfg.deterministic,
            callbacks=[state, *([stop, best] if val else []), latest, *callbacks],
            limit_val_batches=1.0 if val else 0,  # no selection set: never validate
            logger=False,
            enable_model_summary=False,
            enable_progress_bar=cfg.progress_bar,
            reload_dataloaders_every_n_epochs=1,  # ClipDataModule sets the epoch's jitter there
            default_root_dir=checkpoint_dir,
        )
        with warnings.catch_warnings():
            for pattern in quiet:
                warnings.filterwarnings("ignore", message=pattern)
            # weights_only: a last.ckpt placed in the folder can never run code on resume
            try:
                trainer.fit(module, datamodule=data, ckpt_path=resumed_from, weights_only=True)
            except torch.cuda.OutOfMemoryError as e:
                if trainer.world_size > 1:  # this is one rank of several: no retry alone
                    raise RuntimeError(
                        f"CUDA out of memory on rank {trainer.global_rank} at batch_size "
                        f"{batch_size}: lower training.trainer.batch_size (per device)"
                    ) from e
                raise
    finally:
        torch.use_deterministic_algorithms(flags, warn_only=warn_only)
    epochs_run = int(trainer.current_epoch)
    if isinstance(trainer.strategy.launcher, _MultiProcessingLauncher) and last.is_file():
        epochs_run = _restore_from_last(last, [state, stop, best])
    best_path = best.best_model_path or (str(last) if last.is_file() else None)
    weights = (
        _model_weights(best_path)
        if best_path
        else {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    )
    model.load_state_dict(weights)
    score = best.best_model_score
    return FitResult(
        state_dict=weights,
        config=cfg.model_dump(),
        batch_size=batch_size,
        accumulate_grad_batches=accumulate,
        precision=precision,
        epochs_run=epochs_run,
        best_val_auc=float(score) if by_auc and score is not None else None,
        stopped_early=stop.stopped_epoch > 0,
        resumed_from=resumed_from,
        history=list(state.history),
        best_checkpoint=best_path,
        best_epoch=best_epoch(state.history, monitor, mode),
    )


@torch.no_grad()
def predict_clips(
    model: nn.Module,
    items: Sequence[ClipItem],
    num_frames: int,
    batch_size: int = 8,
    *,
    size: int | None = None,
    crop: int | None = None,
    logits: bool = False,
    cache_dir: str | None = None,
) -> np.ndarray:
    """Sigmoid probabilities (``logits``: the logits) for ``items`` (in order) from fixed
    uniform clips (centred crops with ``crop``), in eval mode; ``cache_dir`` as in
    :class:`ClipDataset` (clips a fit validated on are read, not decoded again)."""
    if not items:
        return np.zeros(0, dtype=np.float32)
    device = next(iter(model.parameters()), torch.empty(0)).device
    dataset = ClipDataset(items, num_frames, train=False, size=size, crop=crop, cache_dir=cache_dir)
    loader = DataLoader(dataset, batch_size)
    modes = _train_modes(model)
    model.eval()
    try:
        out = [model(x.to(device)).reshape(len(x)).float().cpu() for x, _ in loader]
    finally:
        _set_train_modes(model, modes)
    z = torch.cat(out)
    return (z if logits else torch.sigmoid(z)).numpy()
