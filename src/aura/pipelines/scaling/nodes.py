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

from aura.corpus.videos import stage_inputs
from aura.executor import Task, atomic_path
from aura.pipelines.stage import failures, run_video_stage
from aura.video.scale import scale_video
from aura.video.vae_scale import check_weights, scale_video_vae

METHODS = ("letterbox", "autoencoder")


def check_autoencoder(scaling: Mapping[str, Any]) -> dict[str, str]:
    """Fail fast for ``method: autoencoder``: the VAE weights must be on local disk.

    Raises ``FileNotFoundError`` naming the folder and files to put there (no download, no
    retries). Returns the resolved folder and a fingerprint of its files for the cache key, so
    replacing the weights recomputes the scaled videos.
    """
    folder = (
        Path(str((scaling.get("autoencoder") or {}).get("weights_path") or "data/06_models/vae"))
        .expanduser()
        .resolve()
    )
    check_weights(folder)
    stats = sorted(
        (p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir() if p.is_file()
    )
    return {"weights_path": str(folder), "weights_fingerprint": json.dumps(stats)}


def scale_one(task: Task, params: Mapping[str, Any]) -> dict[str, Any]:
    """Executor task: rescale one video (``params['method']``) into ``task.args['output']``."""
    output = str(task.args["output"])
    size, crf = int(params["target_size"]), int(params["crf"])
    with atomic_path(output) as tmp:
        if params["method"] == "autoencoder":
            geometry = scale_video_vae(
                task.path, tmp, size=size, crf=crf, weights_path=params["weights_path"]
            )
        else:
            geometry = scale_video(task.path, tmp, size=size, crf=crf)
    return {"output": output, **geometry}


def scale_videos(
    video_index: pl.DataFrame,
    augmented_metadata: pl.DataFrame,
    scaling: dict[str, Any],
    executor: dict[str, Any],
    cache_dir: str,
) -> tuple[pl.DataFrame, dict[str, str]]:
    """Rescale originals and variants; return ``scaled_metadata`` and the ``scaled_videos`` index."""
    method = str(scaling.get("method", "letterbox"))
    if method not in METHODS:
        raise ValueError(f"scaling.method={method!r}: expected one of {', '.join(METHODS)}")
    weights = check_autoencoder(scaling) if method == "autoencoder" else {}
    size = int(scaling.get("target_size", 112))
    if size < 16 or size % 2:
        raise ValueError(f"scaling.target_size={size}: must be an even number >= 16")
    work, skipped = stage_inputs(video_index, augmented_metadata)
    params = {"method": method, "target_size": size, "crf": int(scaling.get("crf", 18))}
    params.update(weights)  # weights folder + fingerprint are part of the cache key
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
