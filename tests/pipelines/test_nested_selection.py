"""Nested selection in a deep cell: the fold's validation videos are scored, never learnt from.

A naive_cnn cell is trained on tiny generated videos (originals + one variant each); flipping
every outer-validation label must leave the trained weights bit-identical, and change nothing
in the predictions but the label columns.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import torch
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner

from aura.models import TrainedClipModel
from aura.pipelines.training.pipeline import create_cell
from aura.release.calibration import fit_calibration
from aura.training import ClipItem, make_folds, predict_clips
from tests.pipelines.conftest import KeptDataset

pytestmark = pytest.mark.filterwarnings("ignore:.*LeafSpec.*:FutureWarning")

CELL = "naive_cnn.fold_0"


def _video(path: Path, bright: bool, seed: int) -> Path:
    from aura.video import write_video

    rng = np.random.default_rng(seed)
    # a weak cue (classes overlap in brightness), so validation AUC moves between epochs
    base = rng.uniform(80, 140) + (20 if bright else 0)
    frames = [
        np.clip(base + rng.normal(0, 30, (48, 48, 3)), 0, 255).astype(np.uint8) for _ in range(10)
    ]
    write_video(path, frames, fps=Fraction(25))
    return path


def _corpus(root: Path, n: int = 12) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``n`` one-video cascades (fakes brighter), one variant each: index, augmented, scaled."""
    index, augmented, scaled = [], [], []
    for c in range(n):
        label = "fake" if c % 2 else "real"
        vid = f"v{c:02d}"
        path = _video(root / f"{vid}.mp4", label == "fake", c)
        variant = _video(root / f"{vid}__v1.mp4", label == "fake", 100 + c)
        index.append(
            {
                "video_id": vid,
                "cascade_id": f"c{c}",
                "group_id": f"c{c}",
                "label": label,
                "target": int(label == "fake"),
                "status": "ok",
                "error": None,
                "path": str(path),
                "platform": "youtube",
            }
        )
        augmented.append(
            {
                "variant_id": f"{vid}__v1",
                "source_video_id": vid,
                "variant": 1,
                "status": "ok",
                "error": None,
                "path": str(variant),
            }
        )
        for v, p in ((vid, path), (f"{vid}__v1", variant)):
            scaled.append({"video_id": v, "path": str(p), "n_frames": 10, "status": "ok"})
    return (
        pl.DataFrame(index, schema_overrides={"error": pl.String}),
        pl.DataFrame(augmented, schema_overrides={"error": pl.String}),
        pl.DataFrame(scaled),
    )


def _run_cell(
    corpus: tuple[pl.DataFrame, ...],
    folds: pl.DataFrame,
    checkpoints: Path,
    **trainer: Any,
) -> tuple[TrainedClipModel, pl.DataFrame]:
    index, augmented, scaled = corpus
    params = {
        "training.model_params.naive_cnn": {"width": 8, "pretrained": False},
        "training.trainer": {
            "num_frames": 4,
            "batch_size": 4,
            "max_epochs": 3,
            "precision": "32-true",
            "accelerator": "cpu",
            "lr": 1e-2,
            **trainer,
        },
        "training.seed": 0,
        "training.checkpoint_dir": str(checkpoints),
        "evaluation.threshold": 0.5,
    }
    pipe = create_cell("naive_cnn", 0)
    catalog = DataCatalog({n: KeptDataset() for n in pipe.datasets()})
    tables = {
        "video_index": index,
        "augmented_metadata": augmented,
        "cv_folds": folds,
        "scaled_metadata": scaled,
    }
    for name in pipe.inputs() - {p for p in pipe.inputs() if p.startswith("params:")}:
        catalog[name].save(tables[name])
    for key, value in params.items():
        catalog[f"params:{key}"].save(value)
    SequentialRunner().run(pipe, catalog)
    return catalog[f"{CELL}.model"].load(), catalog[f"{CELL}.predictions"].load()


def _flip_validation_labels(folds: pl.DataFrame) -> pl.DataFrame:
    val = pl.col("role") == "val"
    return folds.with_columns(
        pl.when(val).then(1 - pl.col("target")).otherwise(pl.col("target")).alias("target"),
        pl.when(val & (pl.col("label") == "fake"))
        .then(pl.lit("real"))
        .when(val)
        .then(pl.lit("fake"))
        .otherwise(pl.col("label"))
        .alias("label"),
    )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.DataFrame, ...]:
    return _corpus(tmp_path_factory.mktemp("nested"))


def test_validation_labels_never_reach_the_fit(corpus: Any, tmp_path: Path) -> None:
    index, augmented, _ = corpus
    # 6 training groups per fold, round(1 / 0.3) = 3 inner splits: 2 of them select
    folds = make_folds(index, augmented, n_folds=2, seed=0, inner_val_fraction=0.3)
    flipped = _flip_validation_labels(folds)
    val = folds.filter((pl.col("fold") == 0) & (pl.col("role") == "val"))
    assert not flipped.filter(pl.col("role") == "val")["target"].equals(val["target"])

    trained, pred = _run_cell(corpus, folds, tmp_path / "a")
    again, pred_flipped = _run_cell(corpus, flipped, tmp_path / "b")  # no shared checkpoint

    assert not again.fit.resumed_from
    assert trained.state_dict.keys() == again.state_dict.keys()
    for key, tensor in trained.state_dict.items():
        assert torch.equal(tensor, again.state_dict[key]), key
    labels = ["label", "target"]
    assert pred.drop(labels).equals(pred_flipped.drop(labels))
    assert sorted(pred["video_id"]) == sorted(val["video_id"])
    joined = pred.join(pred_flipped, on="video_id", suffix="_flipped")
    assert (joined["target"] != joined["target_flipped"]).all()
    assert (joined["label"] != joined["label_flipped"]).all()

    # trained on fit originals + their variants, selected on the select originals only
    train = folds.filter((pl.col("fold") == 0) & (pl.col("role") == "train"))
    fit = train.filter(pl.col("inner_role") == "fit")
    select = train.filter((pl.col("inner_role") == "select") & (pl.col("variant") == 0))
    assert trained.fit.n_train_clips == fit.height == 8  # 4 originals + 4 variants
    assert trained.fit.n_val_clips == select.height == 2
    assert trained.fit.best_epoch in (0, 1, 2) and trained.fit.best_val_auc is not None


def test_zero_fraction_trains_max_epochs_and_keeps_the_last_weights(
    corpus: Any, tmp_path: Path
) -> None:
    index, augmented, _ = corpus
    folds = make_folds(index, augmented, n_folds=2, seed=0, inner_val_fraction=0)
    trained, pred = _run_cell(corpus, folds, tmp_path)
    assert trained.fit.n_val_clips == 0 and trained.fit.n_train_clips == 12
    assert trained.fit.epochs_run == 3 and not trained.fit.stopped_early
    assert trained.fit.best_epoch is None and trained.fit.best_val_auc is None
    (last,) = tmp_path.rglob("last.ckpt")
    assert not list(tmp_path.rglob("best-*.ckpt"))  # nothing was selected
    saved = torch.load(last, weights_only=True)
    assert saved["epoch"] == 2  # 0-based: the last of max_epochs
    for key, tensor in trained.state_dict.items():
        assert torch.equal(saved["state_dict"][f"model.{key}"], tensor), key
    assert pred["score"].is_between(0, 1).all() and pred.height == 6


def test_platt_calibration_is_fitted_on_the_selection_videos_only(
    corpus: Any, tmp_path: Path
) -> None:
    index, augmented, scaled = corpus
    folds = make_folds(index, augmented, n_folds=2, seed=0, inner_val_fraction=0.3)
    raw, raw_pred = _run_cell(corpus, folds, tmp_path)
    assert raw.config.calibration is None
    cal, pred = _run_cell(corpus, folds, tmp_path, calibration="platt")
    flipped, _ = _run_cell(corpus, _flip_validation_labels(folds), tmp_path, calibration="platt")

    # calibration comes after the fit: the same checkpoint, the same weights
    assert cal.fit.resumed_from and cal.fit.best_epoch == raw.fit.best_epoch
    for key, tensor in raw.state_dict.items():
        assert torch.equal(tensor, cal.state_dict[key]), key
    # the map is the Platt fit of the raw model's logits on the select originals
    select = folds.filter(
        (pl.col("fold") == 0) & (pl.col("inner_role") == "select") & (pl.col("variant") == 0)
    ).join(scaled, on="video_id")
    items = [
        ClipItem(r["video_id"], r["path"], r["target"], 10) for r in select.iter_rows(named=True)
    ]
    z = predict_clips(raw.network(), items, 4, logits=True)
    expected = fit_calibration(z, [it.target for it in items], "platt", platt_c=1.0).params
    assert cal.config.calibration == pytest.approx(expected, rel=1e-9)
    assert flipped.config.calibration == cal.config.calibration  # validation labels unused
    # with the clip cache the map reads the clips the fit's validation kept: the same map
    cached, _ = _run_cell(
        corpus, folds, tmp_path / "c", calibration="platt", clip_cache_dir=str(tmp_path / "clips")
    )
    assert cached.config.calibration == pytest.approx(cal.config.calibration, rel=1e-6)
    # scored videos get sigmoid(a * z + b) of the raw logit
    a, b = cal.config.calibration["a"], cal.config.calibration["b"]
    joined = raw_pred.join(pred, on="video_id", suffix="_cal")
    logit = np.log(joined["score"]) - np.log1p(-joined["score"])
    np.testing.assert_allclose(joined["score_cal"], 1 / (1 + np.exp(-(a * logit + b))), rtol=1e-5)
    assert not np.allclose(joined["score_cal"], joined["score"])
