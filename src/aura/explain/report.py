"""An explanation on disk: a PNG contact sheet and a JSON with every number behind it.

The sheet shows the clip's frames (Grad-CAM overlaid per frame with
``pytorch_grad_cam.utils.image.show_cam_on_image`` when there is a heatmap), a bar chart of the
logit drop per occluded segment and, for feature baselines, the top contributions as horizontal
bars. Figures are drawn without pyplot (Agg canvas; the user's backend is left alone). Both
files are written atomically (temporary file, then rename).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from pytorch_grad_cam.utils.image import show_cam_on_image

from aura.explain.contributions import Contribution
from aura.inference.inputs import Segment
from aura.training.clips import MEAN, STD

#: Frames per row of the contact sheet; side of the coarse heatmap grid kept in the JSON.
SHEET_COLUMNS = 8
HEAT_GRID = 16


def unnormalise(clip: torch.Tensor) -> np.ndarray:
    """A normalised clip (1, 3, T, H, W) or (3, T, H, W) back to uint8 RGB frames (T, H, W, 3)."""
    x = clip.detach().cpu().float()
    if x.ndim == 5:
        if x.shape[0] != 1:
            raise ValueError(f"unnormalise takes one clip, got a batch of {x.shape[0]}")
        x = x[0]
    if x.ndim != 4 or x.shape[0] != 3:
        raise ValueError(f"expected a clip (1, 3, T, H, W) or (3, T, H, W), got {tuple(x.shape)}")
    rgb = (x * STD + MEAN) * 255.0
    return rgb.round().clamp(0, 255).to(torch.uint8).permute(1, 2, 3, 0).contiguous().numpy()


def _finite(value: float) -> float | None:
    return None if not math.isfinite(value) else float(value)


def _jsonable(value: Any) -> Any:
    """Plain JSON values: numpy scalars/arrays to Python, NaN/inf to null."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float):
        return _finite(value)
    if isinstance(value, Path):
        return str(value)
    return value


def heat_summary(heatmaps: np.ndarray) -> dict[str, Any]:
    """Per-frame mean, max and peak (row, col) of (T, H, W) heatmaps, plus a coarse grid."""
    heat = np.asarray(heatmaps, dtype=np.float64)  # float64: rounded values print cleanly
    t, h, w = heat.shape
    flat = heat.reshape(t, -1).argmax(axis=1)
    grid = torch.nn.functional.adaptive_avg_pool2d(
        torch.from_numpy(np.ascontiguousarray(heat))[:, None],
        (min(HEAT_GRID, h), min(HEAT_GRID, w)),
    )[:, 0]
    return {
        "shape": [t, h, w],
        "frame_mean": heat.mean(axis=(1, 2)).round(6),
        "frame_max": heat.max(axis=(1, 2)).round(6),
        "peak_row_col": np.stack([flat // w, flat % w], axis=1),
        "grid": grid.numpy().round(4),  # adaptive mean-pool, per frame
    }


def _overlay(frame: np.ndarray, heat: np.ndarray | None) -> np.ndarray:
    if heat is None:
        return frame
    return show_cam_on_image(frame.astype(np.float32) / 255.0, heat, use_rgb=True)


def _draw(
    frames: np.ndarray,
    heatmaps: np.ndarray | None,
    drops: np.ndarray,
    segments: Sequence[Segment],
    contributions: Sequence[Contribution],
    times: Sequence[float] | None,
    title: str,
) -> Figure:
    t = len(frames)
    cols = min(t, SHEET_COLUMNS)
    rows = math.ceil(t / cols)
    charts = 1 + bool(contributions)
    fig = Figure(figsize=(2.0 * max(cols, 4), 2.1 * rows + 3.2 * charts), layout="constrained")
    grid = fig.add_gridspec(rows + charts, cols, height_ratios=[2.1] * rows + [3.2] * charts)
    for i in range(t):
        ax = fig.add_subplot(grid[i // cols, i % cols])
        ax.imshow(_overlay(frames[i], None if heatmaps is None else heatmaps[i]))
        ax.set_title(f"{times[i]:.2f} s" if times is not None else f"frame {i}", fontsize=8)
        ax.axis("off")
    ax = fig.add_subplot(grid[rows, :])
    labels = [f"{s.start_s:.1f}-{s.end_s:.1f} s" for s in segments]
    values = np.nan_to_num(drops, nan=0.0)
    ax.bar(range(len(values)), values, color=["tab:red" if v > 0 else "tab:blue" for v in values])
    ax.set_xticks(range(len(values)), labels, rotation=45, ha="right", fontsize=7)
    ax.axhline(0.0, color="black", linewidth=0.6)
    ax.set_ylabel("logit drop")
    ax.set_title("occluding each segment: drop of the fake logit", fontsize=9)
    if contributions:
        ax = fig.add_subplot(grid[rows + 1, :])
        top = list(contributions)[::-1]
        names = [f"{c.feature} ({c.stage})" if c.stage else c.column for c in top]
        vals = [c.contribution for c in top]
        ax.barh(names, vals, color=["tab:red" if v > 0 else "tab:blue" for v in vals])
        ax.axvline(0.0, color="black", linewidth=0.6)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_xlabel("contribution to the decision value (> 0: towards fake)")
    fig.suptitle(title, fontsize=10)
    return fig


def _write_atomic(path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_explanation(
    out_dir: str | Path,
    stem: str,
    *,
    frames_uint8: np.ndarray,
    heatmaps: np.ndarray | None,
    segment_drops: Sequence[float] | np.ndarray,
    segments: Sequence[Segment],
    contributions: Sequence[Contribution] | None,
    meta: Mapping[str, Any],
    frame_times_s: Sequence[float] | None = None,
) -> tuple[Path, Path]:
    """Write ``<stem>.png`` (contact sheet) and ``<stem>.json`` under ``out_dir``.

    ``frames_uint8`` (T, H, W, 3) RGB; ``heatmaps`` (T, H, W) in [0, 1] or None; one drop per
    segment (NaN: the segment held no frame); ``contributions`` (largest first) or None;
    ``meta`` (JSON-able: model, path, probability, notes ...) goes into the JSON as is.
    """
    frames = np.asarray(frames_uint8)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(
            f"frames_uint8 must be uint8 (T, H, W, 3), got {frames.dtype} {frames.shape}"
        )
    if heatmaps is not None:
        heatmaps = np.asarray(heatmaps, dtype=np.float32)
        if heatmaps.shape != frames.shape[:3]:
            raise ValueError(f"heatmaps {heatmaps.shape} do not match frames {frames.shape[:3]}")
    drops = np.asarray(segment_drops, dtype=np.float64).reshape(-1)
    if len(drops) != len(segments):
        raise ValueError(f"{len(drops)} segment drops for {len(segments)} segments")
    if frame_times_s is not None and len(frame_times_s) != len(frames):
        raise ValueError(f"{len(frame_times_s)} frame times for {len(frames)} frames")
    contributions = list(contributions or [])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    png, js = out / f"{stem}.png", out / f"{stem}.json"
    title = " · ".join(str(meta[k]) for k in ("model", "path") if k in meta) or stem
    fig = _draw(frames, heatmaps, drops, segments, contributions, frame_times_s, title)
    _write_atomic(png, lambda p: fig.savefig(p, format="png", dpi=80))
    doc = {
        "stem": stem,
        "png": png.name,
        "meta": dict(meta),
        "frames": {
            "count": int(frames.shape[0]),
            "height": int(frames.shape[1]),
            "width": int(frames.shape[2]),
            "times_s": frame_times_s,
        },
        "gradcam": None if heatmaps is None else heat_summary(heatmaps),
        "segments": [
            {"start_s": s.start_s, "end_s": s.end_s, "logit_drop": d}
            for s, d in zip(segments, drops, strict=True)
        ],
        "contributions": [c.as_dict() for c in contributions],
    }
    text = json.dumps(_jsonable(doc), indent=2, allow_nan=False)
    _write_atomic(js, lambda p: p.write_text(text + "\n", encoding="utf-8"))
    return png, js
