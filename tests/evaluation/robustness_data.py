"""Real generated videos, folds, fitted fold baselines and their out-of-fold scores for the
robustness tests (library and pipeline)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from aura.inference.inputs import InputSpec
from aura.inference.prepare import input_spec_from_config, prepare_video
from aura.models import fit_baseline
from aura.parameters import AuraConfig, resolve
from aura.video import write_video
from tests.conftest import texture

N_FOLDS = 2


def parameters(tmp: Path, **robustness: Any) -> dict[str, Any]:
    """Every parameter a robustness run resolves: small, fast stage settings."""
    return {
        "cache_dir": str(tmp / "cache"),
        "corpus": {"kind": "manifest", "root": str(tmp)},
        "executor": {"backend": "serial", "progress": False},
        "augmentation": {"output_dir": str(tmp / "aug")},
        "scaling": {"output_dir": str(tmp / "scaled"), "target_size": 48},
        "features": {"num_frames": 6},
        "scaled_features": {"num_frames": 4},
        "evaluation": {"bootstrap": 200, "robustness": robustness},
    }


def config(tmp: Path, **robustness: Any) -> AuraConfig:
    return resolve(parameters(tmp, **robustness))


def frames(i: int, fake: bool, w: int = 96, h: int = 64, n: int = 24) -> list[np.ndarray]:
    """A moving texture; fake ones carry strong per-pixel noise (easy for the features)."""
    rng = np.random.default_rng(i)
    out = []
    for k in range(n):
        f = texture(k + 7 * i, w, h)
        if fake:
            f = np.clip(f.astype(np.int16) + rng.integers(-60, 60, (h, w, 3)), 0, 255)
        out.append(f.astype(np.uint8))
    return out


def corpus(folder: Path, n: int = 8) -> pl.DataFrame:
    """``n`` videos (alternately real and fake, 1.6 s at 15 fps), one cascade each, as
    ``video_index`` rows."""
    rows = []
    for i in range(n):
        fake = i % 2 == 1
        vid = f"{'fake' if fake else 'real'}{i}"
        path = write_video(folder / f"{vid}.mp4", frames(i, fake), fps=15)
        rows.append(
            {
                "video_id": vid,
                "platform": "youtube",
                "cascade_id": f"c{i}",
                "group_id": f"c{i}",
                "label": "fake" if fake else "real",
                "target": int(fake),
                "status": "ok",
                "error": None,
                "path": str(path),
            }
        )
    return pl.DataFrame(rows, schema_overrides={"error": pl.String})


def folds(index: pl.DataFrame, n_folds: int = N_FOLDS) -> pl.DataFrame:
    """A ``cv_folds`` table: each class dealt round-robin over the folds; a row per (video,
    fold), ``val`` in its own fold, ``train`` in the others."""
    ranked = index.with_columns((pl.int_range(pl.len()).over("target") % n_folds).alias("home"))
    rows = []
    for r in ranked.iter_rows(named=True):
        for k in range(n_folds):
            rows.append(
                {
                    "video_id": r["video_id"],
                    "source_video_id": r["video_id"],
                    "variant": 0,
                    "cascade_id": r["cascade_id"],
                    "group_id": r["group_id"],
                    "label": r["label"],
                    "target": r["target"],
                    "fold": k,
                    "role": "val" if r["home"] == k else "train",
                }
            )
    return pl.DataFrame(rows)


def feature_spec(cfg: AuraConfig) -> InputSpec:
    return input_spec_from_config(cfg, (), True, segment_s=0, max_segments=0)


def feature_table(index: pl.DataFrame, spec: InputSpec, work: Path) -> pl.DataFrame:
    """The joined feature row of every video, computed as inference (= training) does."""
    rows = []
    for r in index.iter_rows(named=True):
        table = prepare_video(r["path"], spec, work).features
        rows.append(table.with_columns(pl.lit(r["video_id"]).alias("video_id")))
    table = pl.concat(rows, how="vertical_relaxed")
    return table.drop("target").join(index.select("video_id", "target"), on="video_id")


def fit_folds(
    cv_folds: pl.DataFrame, table: pl.DataFrame, model: str = "logistic_regression"
) -> tuple[dict[tuple[str, int], Any], pl.DataFrame]:
    """Each fold's baseline (trained on its train rows) and the out-of-fold predictions."""
    cells: dict[tuple[str, int], Any] = {}
    preds = []
    for k in sorted(cv_folds["fold"].unique().to_list()):
        train = cv_folds.filter((pl.col("fold") == k) & (pl.col("role") == "train"))
        fitted = fit_baseline(model, table, train["video_id"].to_list(), {"C": 0.5}, seed=k)
        cells[(model, k)] = fitted
        val = cv_folds.filter((pl.col("fold") == k) & (pl.col("role") == "val"))
        rows = val.select("video_id").join(table, on="video_id", how="left")
        preds.append(
            val.select(
                pl.lit(model).alias("model"),
                pl.lit(k, pl.Int64).alias("fold"),
                "video_id",
                "cascade_id",
                "group_id",
                pl.col("target").cast(pl.Int8),
                pl.Series("score", fitted.predict_proba(rows), pl.Float64),
            )
        )
    return cells, pl.concat(preds)
