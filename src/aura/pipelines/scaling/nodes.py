"""Scaling nodes: rescale each video to ``target_size`` and write it as a small MP4.

``method: letterbox`` letterboxes every frame (:func:`aura.video.scale.scale_video`);
``method: autoencoder`` letterboxes the same way, then re-synthesises each frame with a local
diffusers VAE (:func:`aura.video.vae_scale.scale_video_vae`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from aura.config import missing_key
from aura.corpus.videos import stage_inputs
from aura.executor import Task, atomic_path
from aura.pipelines.config import IngestConfig, ScalingConfig
from aura.pipelines.stage import failures, run_video_stage
from aura.video.limits import MAX_PIXELS
from aura.video.scale import rescale_video
from aura.video.vae_scale import check_weights


def check_autoencoder(scaling: ScalingConfig | Mapping[str, Any]) -> dict[str, str]:
    """Fail fast for ``method: autoencoder``: the VAE weights must be on local disk.

    Raises ``FileNotFoundError`` naming the folder and files to put there (no download, no
    retries). Returns the resolved folder and a fingerprint of its files for the cache key, so
    replacing the weights recomputes the scaled videos.
    """
    config = ScalingConfig.from_params(scaling)
    folder = Path(config.autoencoder.weights_path).expanduser().resolve()
    check_weights(folder)
    stats = sorted(
        (p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir() if p.is_file()
    )
    return {"weights_path": str(folder), "weights_fingerprint": json.dumps(stats)}


def scale_one(task: Task, params: Mapping[str, Any]) -> dict[str, Any]:
    """Executor task: rescale one video (``params['method']``) into ``task.args['output']``."""
    output = str(task.args["output"])
    size, crf = int(params["target_size"]), int(params["crf"])
    cap = params.get("max_pixels", MAX_PIXELS)
    with atomic_path(output) as tmp:
        geometry = rescale_video(
            task.path,
            tmp,
            method=params["method"],
            size=size,
            crf=crf,
            max_pixels=cap,
            weights_path=params.get("weights_path"),
        )
    return {"output": output, **geometry}


def scale_videos(
    video_index: pl.DataFrame,
    augmented_metadata: pl.DataFrame,
    scaling: ScalingConfig | Mapping[str, Any],
    executor: dict[str, Any],
    cache_dir: str,
    ingest: IngestConfig | Mapping[str, Any] | None = None,
) -> tuple[pl.DataFrame, dict[str, str]]:
    """Rescale originals and variants; return ``scaled_metadata`` and the ``scaled_videos`` index.

    ``ingest.max_pixels`` caps the frame size: a larger frame is a failure row, never decoded.
    """
    config = ScalingConfig.from_params(scaling)
    if config.output_dir is None:
        raise missing_key("scaling", "output_dir", "the folder of the scaled videos")
    weights = check_autoencoder(config) if config.method == "autoencoder" else {}
    work, skipped = stage_inputs(video_index, augmented_metadata)
    params = {
        "method": config.method,
        "target_size": config.target_size,
        "crf": config.crf,
        "max_pixels": IngestConfig.from_params(ingest).max_pixels,
    }
    params.update(weights)  # weights folder + fingerprint are part of the cache key
    table = run_video_stage(
        scale_one,
        work,
        stage="scaling",
        params=params,
        executor=executor,
        cache_dir=cache_dir,
        output_dir=config.output_dir,
    )
    table = pl.concat(
        [table.rename({"path": "source_path", "output": "path"}), failures(skipped, "scaling")],
        how="diagonal_relaxed",
    )
    videos = dict(table.filter(pl.col("status") == "ok").select("video_id", "path").iter_rows())
    return table, videos
