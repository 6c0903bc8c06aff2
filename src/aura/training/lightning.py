"""Lightning wrappers for clip classifiers: the module (loss, optimiser, metrics) and the data.

Lightning runs the loop (AMP, accumulation, checkpoints, early stopping); these classes only
say what one step computes and where the clips come from.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.distributed as dist
from lightning.pytorch.callbacks import Callback, EarlyStopping
from sklearn.metrics import roc_auc_score
from torch import nn
from torch.optim.lr_scheduler import LambdaLR
from torch.utils.data import DataLoader, Sampler

from aura.training.clips import BalancedBatchSampler, ClipDataset, ClipItem
from aura.training.losses import make_loss


def cpu_bf16_supported() -> bool:
    """Whether this CPU runs bf16 autocast natively (oneDNN bf16: AVX-512 or AMX)."""
    try:
        return bool(
            torch.amp.is_autocast_available("cpu")
            and torch.backends.mkldnn.is_available()
            and torch.ops.mkldnn._is_mkldnn_bf16_supported()
        )
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(precision: str | int, accelerator: str = "auto") -> str | int:
    """``auto``: bf16-mixed (else 16-mixed) on CUDA; bf16-mixed or 32-true on CPU."""
    if precision != "auto":
        return precision
    if accelerator in ("auto", "cuda", "gpu") and torch.cuda.is_available():
        return "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"
    return "bf16-mixed" if cpu_bf16_supported() else "32-true"


def warmup_cosine(warmup_steps: int, total_steps: int) -> Any:
    """LR factor per optimizer step: linear warm-up to 1, then cosine decay towards 0."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        span = max(1, total_steps - warmup_steps)
        progress = min(1.0, (step - warmup_steps) / span)
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


class ClipClassifier(L.LightningModule):
    """Binary real/fake training of any ``nn.Module`` mapping (N, 3, T, H, W) to (N, 1) logits.

    Logs epoch-level ``train_loss``, ``val_loss`` and ``val_auc`` (over the whole validation
    set; not logged when it holds one class). After each validation epoch :attr:`val_probs` /
    :attr:`val_targets` hold its probabilities and targets, in dataset order. Under DDP each
    rank validates a :class:`ValShard` and the shards are gathered first, so every rank logs
    the whole set's values (``train_loss`` is averaged over ranks).
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        lr: float = 1e-4,
        weight_decay: float = 1e-4,
        warmup_epochs: float = 1,
        pos_weight: float | None = None,
        loss_fn: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["model", "loss_fn"])
        self.model = model
        # the loss (aura.training.losses.make_loss); default: BCE with ``pos_weight``
        self.loss_fn = loss_fn if loss_fn is not None else make_loss("bce", pos_weight=pos_weight)
        self.val_probs: np.ndarray | None = None
        self.val_targets: np.ndarray | None = None
        self._logits: list[torch.Tensor] = []
        self._targets: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits, shape (N,), in float32."""
        return self.model(x).reshape(x.shape[0]).float()

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        x, y = batch
        loss = self.loss_fn(self(x), y.float())
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"training diverged: loss is {loss.item()} at epoch {self.current_epoch}, "
                f"batch {batch_idx} (precision {self.trainer.precision}); lower "
                "training.trainer.lr or set the model's trainer.precision to 32-true"
            )
        self.log(
            "train_loss",
            loss,
            on_step=False,
            on_epoch=True,
            prog_bar=True,
            batch_size=len(y),
            sync_dist=True,  # the mean over ranks (equal batches): the global batch's loss
        )
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        self._logits.append(self(x).detach())
        self._targets.append(y.detach().float())  # float: numpy has no bf16

    def on_validation_epoch_start(self) -> None:
        self._logits, self._targets = [], []

    def on_validation_epoch_end(self) -> None:
        if not self._logits:
            return
        logits, targets = torch.cat(self._logits), torch.cat(self._targets)
        self._logits, self._targets = [], []
        if self.trainer.sanity_checking:
            return
        if self.trainer.world_size > 1:
            logits, targets = self._gather(logits), self._gather(targets)
        # the mean over clips, as the single-process per-batch log weighted by batch size was
        loss = self.loss_fn(logits, targets)
        self.log("val_loss", loss, prog_bar=True, sync_dist=True)  # equal on ranks: no-op mean
        probs = torch.sigmoid(logits).cpu().numpy().astype(np.float64)
        labels = targets.cpu().numpy().astype(np.int64)
        self.val_probs, self.val_targets = probs, labels
        if len(np.unique(labels)) == 2:
            self.log("val_auc", float(roc_auc_score(labels, probs)), prog_bar=True, sync_dist=True)

    def _gather(self, values: torch.Tensor) -> torch.Tensor:
        """Every rank's :class:`ValShard` values back in dataset order (padding dropped)."""
        n = len(self.trainer.val_dataloaders.dataset)
        # not self.all_gather: Lightning's goes through a torch API deprecated in torch 2.14
        parts = [torch.empty_like(values) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, values.contiguous())
        # (world, per_rank): rank r holds r, r + world, ...
        return torch.stack(parts).transpose(0, 1).reshape(-1)[:n]

    def configure_optimizers(self) -> Any:
        """AdamW (no decay on biases and norm weights), warm-up + cosine stepped per step."""
        hp = self.hparams
        params = [p for p in self.parameters() if p.requires_grad]
        groups = [
            {"params": [p for p in params if p.ndim > 1], "weight_decay": hp.weight_decay},
            {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0},
        ]
        optimizer = torch.optim.AdamW([g for g in groups if g["params"]], lr=hp.lr)
        total = max(1, int(self.trainer.estimated_stepping_batches))
        epochs = self.trainer.max_epochs
        per_epoch = total / epochs if epochs and epochs > 0 else total
        warmup = min(total, round(hp.warmup_epochs * per_epoch))
        scheduler = LambdaLR(optimizer, warmup_cosine(warmup, total))
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step", "frequency": 1},
        }


class ClipDataModule(L.LightningDataModule):
    """Train/val :class:`ClipDataset` loaders.

    The train loader draws class-balanced batches (``balanced_batches``) or shuffles. It is
    rebuilt each epoch (run the Trainer with ``reload_dataloaders_every_n_epochs=1``) with the
    trainer's current epoch set on dataset and sampler, so jitter and order depend only on
    ``(seed, epoch)`` - also after a resume and in worker processes.

    Under DDP the loaders split the data by the trainer's rank themselves (run the Trainer with
    ``use_distributed_sampler=False``): ``batch_size`` is per rank, and the ranks' batches of
    one step make up the batch one process with ``batch_size * world_size`` would draw.
    """

    def __init__(
        self,
        train: Sequence[ClipItem],
        val: Sequence[ClipItem],
        *,
        num_frames: int = 8,
        batch_size: int = 8,
        balanced_batches: bool = True,
        num_workers: int = 0,
        seed: int = 0,
        size: int | None = None,
        crop: int | None = None,
        cache_dir: str | None = None,
    ) -> None:
        super().__init__()
        clips = {"seed": seed, "size": size, "crop": crop, "cache_dir": cache_dir}
        self.train_set = ClipDataset(train, num_frames, train=True, **clips)
        self.val_set = ClipDataset(val, num_frames, train=False, **clips)
        self.batch_size = batch_size
        self.balanced_batches = balanced_batches
        self.num_workers = num_workers
        self.seed = seed
        if balanced_batches:  # fail now, not at the first epoch
            BalancedBatchSampler(self.train_set.targets, batch_size, seed)

    @property
    def _epoch(self) -> int:
        trainer = self.trainer
        return int(trainer.current_epoch) if trainer is not None else 0

    @property
    def _ranks(self) -> dict[str, int]:
        trainer = self.trainer
        return {
            "num_replicas": int(getattr(trainer, "world_size", 1)),
            "rank": int(getattr(trainer, "global_rank", 0)),
        }

    def _loader(self, dataset: ClipDataset, epoch: int, **kwargs: Any) -> DataLoader:
        # Own generator: worker seeds come from (seed, epoch), never from the global torch RNG.
        state = np.random.SeedSequence([self.seed, epoch]).generate_state(1)[0]
        return DataLoader(
            dataset,
            num_workers=self.num_workers,
            pin_memory=torch.cuda.is_available(),
            generator=torch.Generator().manual_seed(int(state)),
            **kwargs,
        )

    def train_dataloader(self) -> DataLoader:
        epoch, ranks = self._epoch, self._ranks
        self.train_set.set_epoch(epoch)
        if self.balanced_batches:
            sampler = BalancedBatchSampler(
                self.train_set.targets, self.batch_size, self.seed, **ranks
            )
            sampler.set_epoch(epoch)
            return self._loader(self.train_set, epoch, batch_sampler=sampler)
        shuffle = EpochShuffle(
            len(self.train_set), self.seed, epoch, batch_size=self.batch_size, **ranks
        )
        return self._loader(self.train_set, epoch, batch_size=self.batch_size, sampler=shuffle)

    def val_dataloader(self) -> DataLoader:
        ranks = self._ranks
        if ranks["num_replicas"] == 1:
            return self._loader(self.val_set, 0, batch_size=self.batch_size, shuffle=False)
        shard = ValShard(len(self.val_set), **ranks)
        return self._loader(self.val_set, 0, batch_size=self.batch_size, sampler=shard)


class EpochShuffle(Sampler[int]):
    """A permutation fixed by ``(seed, epoch)``: every iterator over one epoch sees the same.

    (``shuffle=True`` draws from a generator whose state depends on how often Lightning called
    ``iter()`` on the loader, which differs between fresh, resumed and multi-worker runs.)

    Distributed (``num_replicas`` > 1): the permutation is padded by wrapping to a multiple of
    ``num_replicas`` and cut into global batches of ``batch_size * num_replicas``; rank ``r``
    keeps every ``num_replicas``-th index of each, so every rank has as many batches.
    """

    def __init__(
        self,
        n: int,
        seed: int,
        epoch: int,
        *,
        batch_size: int = 1,
        num_replicas: int = 1,
        rank: int = 0,
    ) -> None:
        order = np.random.default_rng([seed, epoch]).permutation(n)
        if num_replicas > 1 and n:
            order = np.resize(order, -(-n // num_replicas) * num_replicas)  # wraps to pad
            span = batch_size * num_replicas
            order = np.concatenate(
                [order[i : i + span][rank::num_replicas] for i in range(0, len(order), span)]
            )
        self.order = order.tolist()

    def __len__(self) -> int:
        return len(self.order)

    def __iter__(self) -> Iterator[int]:
        return iter(self.order)


class ValShard(Sampler[int]):
    """Rank ``rank``'s share of ``n`` validation items: ``rank, rank + num_replicas, ...``,
    padded by wrapping so every rank has ``ceil(n / num_replicas)`` (gathered, then cut)."""

    def __init__(self, n: int, *, num_replicas: int, rank: int) -> None:
        per_rank = -(-n // num_replicas)
        self.order = [(rank + k * num_replicas) % n for k in range(per_rank)] if n else []

    def __len__(self) -> int:
        return len(self.order)

    def __iter__(self) -> Iterator[int]:
        return iter(self.order)


class EpochHistory(Callback):
    """Per-epoch ``callback_metrics`` + learning rate, kept in checkpoints (so across resumes).

    Resuming a run whose :class:`EarlyStopping` had already stopped ends at once.
    """

    def __init__(self) -> None:
        self.history: list[dict[str, float]] = []

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if any(isinstance(cb, EarlyStopping) and cb.stopped_epoch > 0 for cb in trainer.callbacks):
            trainer.should_stop = True

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        row: dict[str, float] = {"epoch": trainer.current_epoch}
        row.update({k: float(v) for k, v in sorted(trainer.callback_metrics.items())})
        row["lr"] = float(trainer.optimizers[0].param_groups[0]["lr"])
        self.history.append(row)

    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = list(state_dict.get("history", []))
