"""Scaling nodes: letterbox each video to ``target_size`` and write it as a small MP4."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from aura.corpus.videos import stage_inputs
from aura.executor import Task, atomic_path
from aura.pipelines.stage import failures, run_video_stage
from aura.video.scale import scale_video

METHODS = ("letterbox", "autoencoder")


def check_autoencoder(scaling: Mapping[str, Any]) -> None:
    """Fail fast for ``method: autoencoder``: the VAE weights must be on local disk.

    Raises ``FileNotFoundError`` naming the folder to put them in (no download, no retries);
    with weights present, raises ``NotImplementedError``: the VAE encoder is not built yet.
    """
    folder = Path(
        str((scaling.get("autoencoder") or {}).get("weights_path") or "data/06_models/vae")
    )
    weights = (
        [p for p in folder.glob("*") if p.suffix in {".safetensors", ".bin", ".pt", ".ckpt"}]
        if folder.is_dir()
        else []
    )
    if not weights:
        raise FileNotFoundError(
            f"scaling.method=autoencoder needs a diffusers-format VAE in {folder.resolve()} "
            "(config.json + diffusion_pytorch_model.safetensors, e.g. from stabilityai/sd-vae-ft-mse, "
            "downloaded on a machine with network access); set scaling.autoencoder.weights_path to "
            "use another folder, or scaling.method=letterbox"
        )
    raise NotImplementedError(
        f"scaling.method=autoencoder: weights found in {folder}, but the VAE scaler is not implemented yet"
    )


def scale_one(task: Task, params: Mapping[str, Any]) -> dict[str, Any]:
    """Executor task: letterbox one video into ``task.args['output']`` atomically."""
    output = str(task.args["output"])
    with atomic_path(output) as tmp:
        geometry = scale_video(
            task.path, tmp, size=int(params["target_size"]), crf=int(params["crf"])
        )
    return {"output": output, **geometry}


def scale_videos(
    video_index: pl.DataFrame,
    augmented_metadata: pl.DataFrame,
    scaling: dict[str, Any],
    executor: dict[str, Any],
    cache_dir: str,
) -> tuple[pl.DataFrame, dict[str, str]]:
    """Letterbox originals and variants; return ``scaled_metadata`` and the ``scaled_videos`` index."""
    method = str(scaling.get("method", "letterbox"))
    if method not in METHODS:
        raise ValueError(f"scaling.method={method!r}: expected one of {', '.join(METHODS)}")
    if method == "autoencoder":
        check_autoencoder(scaling)
    size = int(scaling.get("target_size", 112))
    if size < 16 or size % 2:
        raise ValueError(f"scaling.target_size={size}: must be an even number >= 16")
    work, skipped = stage_inputs(video_index, augmented_metadata)
    params = {"method": method, "target_size": size, "crf": int(scaling.get("crf", 18))}
    table = run_video_stage(
        scale_one,
        work,
        stage="scaling",
        params=params,
        executor=executor,
        cache_dir=cache_dir,
        output_dir=scaling["output_dir"],
    )
    table = pl.concat(
        [table.rename({"path": "source_path", "output": "path"}), failures(skipped, "scaling")],
        how="diagonal_relaxed",
    )
    videos = dict(table.filter(pl.col("status") == "ok").select("video_id", "path").iter_rows())
    return table, videos
