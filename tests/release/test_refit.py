"""``release.strategy: refit`` for a clip model: one fixed-length fit on every usable video."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import torch

from aura.release import Calibration, Detector, load_detector, save_detector
from aura.release.build import refit_epochs, refit_members
from aura.training import ClipItem, make_folds
from aura.training.config import TrainingConfig
from tests.conftest import make_clip_items
from tests.release.conftest import (
    CLIP,
    TINY_NET,
    fit_report,
    manifest_for,
    tiny_clip_model,
    video_inputs,
)

pytestmark = pytest.mark.filterwarnings("ignore:.*LeafSpec.*:FutureWarning")


def test_refit_epochs_is_the_median_best_epoch_count() -> None:
    # best_epoch is 0-based: epochs 0, 2, 3 → 1, 3, 4 epochs → median 3
    assert refit_epochs([fit_report(0), fit_report(2), fit_report(3)], default=9) == 3
    assert refit_epochs([fit_report(0), fit_report(1)], default=9) == 2  # 1.5 rounded up
    assert refit_epochs([fit_report(None), None], default=9) == 9


def _index(items: list[ClipItem]) -> pl.DataFrame:
    """A video_index of ``items``: one cascade each, all ok."""
    ids = [it.video_id for it in items]
    return pl.DataFrame(
        {
            "video_id": ids,
            "label": ["fake" if it.target else "real" for it in items],
            "target": [it.target for it in items],
            "cascade_id": ids,
            "group_id": ids,
            "path": [str(it.path) for it in items],
            "n_frames": [it.n_frames for it in items],
            "status": ["ok"] * len(items),
            "error": [None] * len(items),
        },
        schema_overrides={"error": pl.String},
    )


def test_a_native_crop_refit_reads_the_stage1_files(tmp_path: Path) -> None:
    """With ``clip_source: native_crop`` the refit trains on crops of the ingested files, never on
    the scaled videos (here paths that do not exist)."""
    items = make_clip_items(tmp_path / "videos", n=6)
    index = _index(items)
    folds = make_folds(index, None, n_folds=2, seed=0, inner_val_fraction=0)
    scaled = index.with_columns(pl.lit(str(tmp_path / "nowhere.mp4")).alias("path"))
    trainer = {
        "num_frames": CLIP.num_frames,
        "clip_source": "native_crop",
        "crop_size": 16,
        "batch_size": 2,
        "max_epochs": 1,
        "precision": "32-true",
        "accelerator": "cpu",
    }
    training = TrainingConfig.from_params(
        {
            "models": ["naive_cnn"],
            "n_folds": 2,
            "trainer": trainer,
            "model_params": {"naive_cnn": TINY_NET},
            "checkpoint_dir": str(tmp_path / "ckpt"),
        }
    )
    cells = {("naive_cnn", k): tiny_clip_model(k, seed=k, best_epoch=0) for k in range(2)}
    with pytest.raises(ValueError, match="native_crop needs the video_index"):
        refit_members(cells, ["naive_cnn"], folds, pl.DataFrame(), scaled, training)
    (member,) = refit_members(cells, ["naive_cnn"], folds, pl.DataFrame(), scaled, training, index)
    refit = member.artifact
    assert refit.config.clip_source == "native_crop" and refit.config.crop_size == 16
    assert refit.fit is not None and refit.fit.n_train_clips == len(items)


def test_refit_clip_model_trains_once_on_every_video(tmp_path: Path) -> None:
    items = make_clip_items(tmp_path / "videos", n=6)
    index = _index(items)
    folds = make_folds(index, None, n_folds=2, seed=0, inner_val_fraction=0)  # 3 groups a side
    scaled = pl.DataFrame(
        {
            "video_id": [it.video_id for it in items],
            "path": [str(it.path) for it in items],
            "n_frames": [it.n_frames for it in items],
            "status": ["ok"] * (len(items) - 1) + ["corrupt"],  # the last one has no clip
        }
    )
    trainer = {
        "num_frames": CLIP.num_frames,
        "clip_size": CLIP.size,
        "batch_size": 2,
        "max_epochs": 5,  # the folds' best epochs decide instead
        "lr": 1e-2,
        "precision": "32-true",
        "accelerator": "cpu",
    }
    training = TrainingConfig.from_params(
        {
            "models": ["naive_cnn"],
            "n_folds": 2,
            "trainer": trainer,
            "model_params": {"naive_cnn": TINY_NET},
            "checkpoint_dir": str(tmp_path / "ckpt"),
        }
    )
    cells = {("naive_cnn", k): tiny_clip_model(k, seed=k, best_epoch=k) for k in range(2)}
    (member,) = refit_members(cells, ["naive_cnn"], folds, pl.DataFrame(), scaled, training)
    assert (member.model, member.fold, member.kind) == ("naive_cnn", None, "clips")
    refit = member.artifact
    assert refit.config.fold is None and refit.config.net == {"input_filter": "rgb", **TINY_NET}
    assert refit.config.trainer["max_epochs"] == 2  # median(0 + 1, 1 + 1) rounded up
    assert refit.fit is not None and refit.fit.epochs_run == 2
    assert refit.fit.n_train_clips == len(items) - 1 and refit.fit.n_val_clips == 0
    # the released weights are the last epoch's checkpoint
    (last,) = (tmp_path / "ckpt" / "naive_cnn" / "refit").rglob("last.ckpt")
    saved = torch.load(last, weights_only=True)["state_dict"]
    for name, value in refit.state_dict.items():
        assert torch.equal(saved[f"model.{name}"], value)

    cal = Calibration("none")
    detector = Detector(manifest_for([member], cal, strategy="refit"), [member], cal)
    loaded = load_detector(save_detector(detector, tmp_path / "det"))
    assert [p.name for p in (tmp_path / "det" / "parts").iterdir()] == [
        "naive_cnn.refit.safetensors"
    ]
    assert loaded.score(video_inputs(4)) == detector.score(video_inputs(4))
    assert loaded.score(video_inputs(4)).fold_spread is None
