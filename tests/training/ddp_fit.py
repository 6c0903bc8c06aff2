"""One :func:`~aura.training.fit_clip_model` of a tiny naive_cnn, for tests/training/test_ddp.py.

``python tests/training/ddp_fit.py ARGS.json``: ARGS holds ``items`` (``[video_id, path, target,
n_frames]`` rows), ``n_train`` (the first n are trained on, the rest select), ``trainer`` (the
``training.trainer`` dict), ``checkpoint_dir``, ``out`` and ``pause_at`` (an epoch at whose start
the fit writes ``out + ".paused"`` and sleeps, to be killed; null: never). Lightning's ``ddp``
relaunches this file once per extra rank; rank 0 (or the ``ddp_spawn`` launcher) writes the
result to ``out`` (JSON) and its weights to ``out + ".pt"``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_only

from aura.models.naive_cnn import FrameCNN
from aura.training import ClipItem, TrainConfig, fit_clip_model


class PauseAt(L.Callback):
    """At the start of epoch ``epoch``: write ``marker``, then sleep (to be killed)."""

    def __init__(self, epoch: int, marker: str) -> None:
        self.epoch, self.marker = epoch, marker

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch == self.epoch:
            Path(self.marker).write_text(str(trainer.global_rank))
            time.sleep(600)


def main(args_file: str) -> None:
    args = json.loads(Path(args_file).read_text())
    items = [ClipItem(v, p, int(t), int(n)) for v, p, t, n in args["items"]]
    train, val = items[: args["n_train"]], items[args["n_train"] :]
    torch.manual_seed(0)
    net = FrameCNN(width=8, blocks=2)
    pause = [] if args["pause_at"] is None else [PauseAt(args["pause_at"], args["out"] + ".paused")]
    cfg = TrainConfig(**args["trainer"])
    result = fit_clip_model(net, train, val, cfg, Path(args["checkpoint_dir"]), callbacks=pause)
    if rank_zero_only.rank == 0:
        torch.save(result.state_dict, args["out"] + ".pt")
        keys = ("history", "best_val_auc", "epochs_run", "best_epoch", "resumed_from")
        Path(args["out"]).write_text(json.dumps({k: getattr(result, k) for k in keys}))


if __name__ == "__main__":  # the guard ddp_spawn needs
    main(sys.argv[1])
