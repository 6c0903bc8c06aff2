"""Training throughput of the deep models, and the Lightning loop's overhead over bare PyTorch.

    python bench/train.py [--steps 12] [--batch 8] [--models naive_cnn,x3d] [--repeat 3]

Prints, measured side by side in one run on the same synthetic clip batch (T and the model
settings from conf/base, 112 px):
  1. clips/s for forward + backward + AdamW step per model (bare PyTorch loop, float32, CPU);
  2. the same steps run by our ``ClipClassifier`` in a Lightning ``Trainer`` (no validation,
     checkpointing or logging: the loop itself) and the ratio Lightning / bare (target ≤ 1.10);
  3. where CUDA is available: r3d18_inception at 112 px, T=16, batch 32 with bf16 autocast,
     bare and Lightning (``bf16-mixed``).
Repeats alternate bare and Lightning so machine noise hits both; the median is reported.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=DeprecationWarning)


def demo_settings() -> tuple[Any, dict[str, dict[str, Any]]]:
    """conf/base's resolved ``training.trainer`` and each deep model's architecture settings."""
    from kedro.config import OmegaConfigLoader

    from aura.models import CLIPS, model_entry
    from aura.parameters import resolve
    from aura.settings import CONFIG_LOADER_ARGS

    args = {**CONFIG_LOADER_ARGS, "default_run_env": "base"}
    training = resolve(OmegaConfigLoader(str(REPO / "conf"), **args)["parameters"]).training
    nets = {
        name: settings.net_kwargs()
        for name, settings in training.model_params.items()
        if model_entry(name).kind == CLIPS
    }
    return training.trainer, nets


def batches(
    n: int, batch: int, frames: int, size: int, device: str
) -> list[tuple[torch.Tensor, ...]]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, frames, size, size, generator=g)
    y = (torch.arange(batch) % 2).float()
    return [(x.to(device), y.to(device))] * n


def bare_loop(model: nn.Module, data: list, device: str, amp: bool) -> float:
    """Seconds for the steps of ``data`` with a hand-written loop (same optimiser and schedule)."""
    model.to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    loss_fn = nn.BCEWithLogitsLoss()
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    sync()
    start = time.perf_counter()
    for x, y in data:
        with torch.autocast(device, dtype=torch.bfloat16, enabled=amp):
            loss = loss_fn(model(x).reshape(-1).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    sync()
    return time.perf_counter() - start


def lightning_loop(model: nn.Module, data: list, device: str, amp: bool) -> float:
    """Seconds for the same steps through ``ClipClassifier`` + ``lightning.Trainer.fit``."""
    import lightning as L

    from aura.training.lightning import ClipClassifier

    module = ClipClassifier(model, lr=1e-4, weight_decay=1e-4, warmup_epochs=0)
    trainer = L.Trainer(
        accelerator="gpu" if device == "cuda" else "cpu",
        devices=1,
        max_epochs=1,
        precision="bf16-mixed" if amp else "32-true",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
    )
    loader = torch.utils.data.DataLoader(
        [(x[i], y[i]) for x, y in data for i in range(len(y))], batch_size=len(data[0][1])
    )
    start = time.perf_counter()
    trainer.fit(module, train_dataloaders=loader)
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def measure(
    name: str,
    cfg: dict[str, Any],
    args: argparse.Namespace,
    frames: int,
    size: int,
    batch: int,
    device: str,
    amp: bool,
) -> tuple[float, float]:
    from aura.models import create_model

    torch.manual_seed(0)
    data = batches(args.steps, batch, frames, size, device)
    warm = batches(2, batch, frames, size, device)
    bare, light = [], []
    for _ in range(args.repeat):
        bare_loop(create_model(name, **cfg), warm, device, amp)  # warm-up (allocator, kernels)
        bare.append(bare_loop(create_model(name, **cfg), data, device, amp))
        light.append(lightning_loop(create_model(name, **cfg), data, device, amp))
    clips = args.steps * batch
    return clips / statistics.median(bare), clips / statistics.median(light)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--models", default="")
    args = parser.parse_args()
    import logging

    logging.getLogger("lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    trainer, nets = demo_settings()
    from aura.models import list_models

    names = [m for m in (args.models.split(",") if args.models else list_models()) if m]
    frames = trainer.num_frames
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads; demo settings, "
        f"T={frames}, 112 px, batch {args.batch}, {args.steps} steps, median of {args.repeat}"
    )
    print(f"{'model':<18}{'bare clips/s':>14}{'Lightning clips/s':>19}{'Lightning/bare time':>21}")
    for name in names:
        bare, light = measure(name, nets[name], args, frames, 112, args.batch, "cpu", False)
        print(f"{name:<18}{bare:>14.1f}{light:>19.1f}{bare / light:>21.3f}")
    if torch.cuda.is_available():
        print(
            f"\nCUDA {torch.cuda.get_device_name()}: r3d18_inception, 112 px, T=16, batch 32, bf16"
        )
        args.steps = max(args.steps, 20)
        bare, light = measure("r3d18_inception", {}, args, 16, 112, 32, "cuda", True)
        print(f"{'r3d18_inception':<18}{bare:>14.1f}{light:>19.1f}{bare / light:>21.3f}")
    else:
        print(
            "\nno CUDA device: the GPU measurement (r3d18_inception, T=16, batch 32, AMP) is skipped"
        )


if __name__ == "__main__":
    main()
