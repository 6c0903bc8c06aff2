"""A deep cell with ``clip_source: native_crop`` end to end: it reads the stage-1 files
(originals and augmented variants), never the scaled videos, and its checkpoint is keyed by
those files."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import torch
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner

from aura.inference.inputs import ClipSpec
from aura.models import TrainedClipModel, kinds
from aura.pipelines.training.pipeline import create_cell
from aura.training import make_folds
from aura.training.sources import clip_files
from aura.video import write_video
from tests.pipelines.conftest import KeptDataset

pytestmark = pytest.mark.filterwarnings("ignore:.*LeafSpec.*:FutureWarning")
W, H, N = 80, 64, 12


def _frames(rng: np.random.Generator, fake: bool) -> list[np.ndarray]:
    base = 150 if fake else 60
    return [
        np.clip(base + rng.normal(0, 30 if fake else 10, (H, W, 3)), 0, 255).astype(np.uint8)
        for _ in range(N)
    ]


def _corpus(root: Path, n: int = 12) -> dict[str, pl.DataFrame]:
    """``n`` one-video cascades at 80x64 with one augmented variant each (mirrored frames);
    the scaled metadata points at files that do not exist."""
    rng = np.random.default_rng(0)
    index, variants, scaled = [], [], []
    for c in range(n):
        label = "fake" if c % 2 else "real"
        frames = _frames(rng, label == "fake")
        path = write_video(root / f"v{c}.mp4", frames, fps=Fraction(25))
        aug = write_video(root / f"v{c}__v1.mp4", [f[:, ::-1] for f in frames], fps=Fraction(25))
        index.append(
            {
                "video_id": f"v{c}",
                "cascade_id": f"c{c}",
                "group_id": f"c{c}",
                "label": label,
                "target": int(label == "fake"),
                "status": "ok",
                "error": None,
                "path": str(path),
                "platform": "youtube",
                "n_frames": N,
                "width": W,
                "height": H,
            }
        )
        variants.append(
            {
                "variant_id": f"v{c}__v1",
                "source_video_id": f"v{c}",
                "variant": 1,
                "path": str(aug),
                "status": "ok",
                "error": None,
                "n_frames": N,
            }
        )
        for vid in (f"v{c}", f"v{c}__v1"):
            scaled.append(
                {"video_id": vid, "path": f"/nonexistent/{vid}.mp4", "n_frames": N, "status": "ok"}
            )
    errors = {"error": pl.String}
    return {
        "video_index": pl.DataFrame(index, schema_overrides=errors),
        "augmented_metadata": pl.DataFrame(variants, schema_overrides=errors),
        "scaled_metadata": pl.DataFrame(scaled),
    }


def test_native_crop_cell_trains_on_the_stage1_files(tmp_path: Path) -> None:
    data = _corpus(tmp_path)
    folds = make_folds(
        data["video_index"], data["augmented_metadata"], n_folds=2, seed=0, inner_val_fraction=0.3
    )
    params = {
        "training.model_params.naive_cnn": {
            "width": 8,
            "pretrained": False,
            "trainer": {"clip_source": "native_crop", "crop_size": 32},
        },
        "training.trainer": {
            "num_frames": 4,
            "batch_size": 4,
            "max_epochs": 2,
            "precision": "32-true",
            "lr": 1e-2,
            "clip_size": 48,  # the scaled clips' size: not used by native crops
        },
        "training.seed": 0,
        "training.checkpoint_dir": str(tmp_path / "ckpt"),
        "evaluation.threshold": 0.5,
    }

    def run() -> dict[str, Any]:
        pipe = create_cell("naive_cnn", 0)
        catalog = DataCatalog({n: KeptDataset() for n in pipe.datasets()})
        for name, value in {**data, "cv_folds": folds}.items():
            catalog[name].save(value)
        for key, value in params.items():
            catalog[f"params:{key}"].save(value)
        SequentialRunner().run(pipe, catalog)
        return {
            n: catalog[n].load()
            for n in pipe.outputs() | {"naive_cnn.fold_0.model", "naive_cnn.fold_0.predictions"}
        }

    out = run()  # the scaled paths do not exist: every clip came from a native file
    trained, pred = out["naive_cnn.fold_0.model"], out["naive_cnn.fold_0.predictions"]
    assert isinstance(trained, TrainedClipModel) and trained.fit is not None
    cfg = trained.config
    assert (cfg.clip_source, cfg.crop_size, cfg.clip_size, cfg.num_frames) == (
        "native_crop",
        32,
        None,
        4,
    )
    assert kinds.CLIPS.clip_spec(trained) == ClipSpec(4, None, "native_crop", 32)
    train = folds.filter((pl.col("fold") == 0) & (pl.col("role") == "train"))
    fit_rows = train.filter(pl.col("inner_role") == "fit")
    assert trained.fit.n_train_clips == fit_rows.height  # originals and their variants
    assert (fit_rows["variant"] == 1).sum() == (fit_rows["variant"] == 0).sum() > 0
    select = train.filter((pl.col("inner_role") == "select") & (pl.col("variant") == 0))
    assert trained.fit.n_val_clips == select.height > 0  # selection: originals only
    assert trained.fit.epochs_run == 2
    val = folds.filter((pl.col("fold") == 0) & (pl.col("role") == "val"))
    assert sorted(pred["video_id"]) == sorted(val["video_id"])
    assert pred["score"].is_between(0, 1).all()
    with torch.no_grad():
        assert trained.network()(torch.rand(2, 3, 4, 32, 32)).shape[0] == 2

    # same files: the finished checkpoint is reused
    again = run()["naive_cnn.fold_0.model"]
    assert again.fit.resumed_from and again.fit.epochs_run == 2
    # a native variant file changes: the checkpoint key covers it, training starts afresh
    variant = Path(fit_rows.filter(pl.col("variant") == 1)["video_id"][0] + ".mp4")
    touched = tmp_path / variant
    st = touched.stat()
    os.utime(touched, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    fresh = run()["naive_cnn.fold_0.model"]
    assert fresh.fit.resumed_from is None


def test_clip_files_by_source(tmp_path: Path) -> None:
    data = _corpus(tmp_path, 2)
    native = clip_files("native_crop", data["scaled_metadata"], data["video_index"])
    assert native["path"].to_list() == data["video_index"]["path"].to_list()  # originals only
    both = clip_files(
        "native_crop", data["scaled_metadata"], data["video_index"], data["augmented_metadata"]
    )
    assert sorted(both["video_id"]) == ["v0", "v0__v1", "v1", "v1__v1"]
    assert both.filter(pl.col("video_id") == "v1__v1")["path"][0].endswith("v1__v1.mp4")
    assert (both["n_frames"] == N).all()
    # a failed variant, or a variant of a failed original, has no file to read
    aug = data["augmented_metadata"].with_columns(
        pl.when(pl.col("variant_id") == "v0__v1")
        .then(pl.lit("encode"))
        .otherwise("status")
        .alias("status")
    )
    index = data["video_index"].with_columns(
        pl.when(pl.col("video_id") == "v1")
        .then(pl.lit("corrupt"))
        .otherwise("status")
        .alias("status")
    )
    assert clip_files("native_crop", data["scaled_metadata"], index, aug).height == 1
    scaled = clip_files("scaled", data["scaled_metadata"], data["video_index"])
    assert scaled["path"].str.starts_with("/nonexistent/").all() and scaled.height == 4
    with pytest.raises(ValueError, match="clip source"):
        clip_files("native", data["scaled_metadata"], data["video_index"])
