"""Robustness library on real generated files: each perturbation's effect on size, frame rate
and frame count; failures as statuses; scores equal to the inference path's; metrics."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import torch

from aura.config import ConfigError
from aura.evaluation.robustness import (
    PERTURBATIONS,
    RobustnessConfig,
    perturb,
)
from aura.evaluation.robustness_metrics import robustness_metrics, robustness_plot
from aura.evaluation.robustness_scoring import (
    SCHEMA,
    artifact_digest,
    score_perturbed,
    score_task,
    select_videos,
    spec_to_params,
    stage_models,
    union_spec,
)
from aura.executor import Task
from aura.inference.config import InferenceConfig
from aura.inference.inputs import ClipSpec
from aura.inference.predict import VideoRequest, score_request
from aura.models import create_model
from aura.models.artifacts import ClipModelConfig, SkippedCell, TrainedClipModel, load_artifact
from aura.release import Calibration, Detector, DetectorManifest, Member
from aura.release.detector import sampler_settings
from aura.video import VideoWriter, iter_frames, probe, write_video
from aura.video.errors import STATUS_OF_REASON
from tests.conftest import texture
from tests.evaluation import robustness_data as data

FPS = 25


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Landscape (160x90, 31 frames: odd), square, exact 9:16 portrait, a landscape file with
    a 90-degree rotation (upright portrait), and hostile files."""
    d = tmp_path_factory.mktemp("robust_videos")
    out = {
        "landscape": write_video(
            d / "landscape.mp4", [texture(i, 160, 90) for i in range(31)], fps=FPS
        ),
        "square": write_video(d / "square.mp4", [texture(i, 96, 96) for i in range(20)], fps=FPS),
        "portrait": write_video(
            d / "portrait.mp4", [texture(i, 72, 128) for i in range(20)], fps=FPS
        ),
    }
    with VideoWriter(d / "rotated.mp4", width=160, height=90, fps=FPS, rotation=90) as w:
        for i in range(20):
            w.write(texture(i, 160, 90))
    out["rotated"] = d / "rotated.mp4"
    good = out["landscape"].read_bytes()
    (d / "truncated.mp4").write_bytes(good[: len(good) // 3])
    (d / "garbage.mp4").write_bytes(np.random.default_rng(0).bytes(4096))
    out["truncated"], out["garbage"] = d / "truncated.mp4", d / "garbage.mp4"
    out["missing"] = d / "missing.mp4"
    return out


def _even(n: float) -> int:
    return int(n) - int(n) % 2


EXPECTED = {  # perturbation -> (width, height, fps, n_frames) of the 160x90, 25 fps, 31-frame file
    "crf23": (160, 90, 25, 31),
    "crf30": (160, 90, 25, 31),
    "crf38": (160, 90, 25, 31),
    "downscale": (80, _even(45), 25, 31),
    "crop_9x16": (_even(round(90 * 9 / 16)), 90, 25, 31),
    "fps_half": (160, 90, 12.5, 16),
    "caption": (160, 90, 25, 31),
}


def test_registry_is_what_the_config_offers() -> None:
    assert set(EXPECTED) == set(PERTURBATIONS)
    assert RobustnessConfig().perturbations == tuple(PERTURBATIONS)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_perturbation_writes_a_decodable_file(
    name: str, videos: dict[str, Path], tmp_path: Path
) -> None:
    dst = tmp_path / f"{name}.mp4"
    outcome = perturb(name, videos["landscape"], dst)
    assert (outcome.status, outcome.error) == ("ok", None)
    info = probe(dst)  # verified: a first and a late frame decode
    w, h, fps, n = EXPECTED[name]
    assert (info.width, info.height, info.n_frames) == (w, h, n)
    assert info.fps == pytest.approx(fps, rel=1e-3)
    assert info.duration_s == pytest.approx(31 / 25, abs=0.1)
    assert sum(1 for _ in iter_frames(dst)) == n
    assert not list(tmp_path.glob(".*tmp*"))  # written atomically


def _mean_error(a: Path, b: Path) -> float:
    return float(
        np.mean(
            [
                np.abs(x.astype(np.int16) - y.astype(np.int16)).mean()
                for x, y in zip(iter_frames(a), iter_frames(b), strict=True)
            ]
        )
    )


def test_higher_crf_is_lossier(videos: dict[str, Path], tmp_path: Path) -> None:
    src = videos["landscape"]
    sizes, errors = [], []
    for crf in (23, 30, 38):
        dst = tmp_path / f"crf{crf}.mp4"
        assert perturb(f"crf{crf}", src, dst).status == "ok"
        sizes.append(dst.stat().st_size)
        errors.append(_mean_error(src, dst))
    assert sizes[0] > sizes[1] > sizes[2]
    assert errors[0] < errors[1] < errors[2]


def test_crop_9x16_crops_frames_wider_than_9x16_only(
    videos: dict[str, Path], tmp_path: Path
) -> None:
    square = perturb("crop_9x16", videos["square"], tmp_path / "square.mp4")
    assert square.status == "ok"
    info = probe(tmp_path / "square.mp4")
    assert (info.width, info.height) == (_even(round(96 * 9 / 16)), 96)
    # the centre: the crop equals the middle columns of the source (up to re-encoding)
    src, out = next(iter_frames(videos["square"])), next(iter_frames(tmp_path / "square.mp4"))
    x0 = (96 - info.width) // 2
    assert np.abs(src[:, x0 : x0 + info.width].astype(int) - out.astype(int)).mean() < 4
    for name in ("portrait", "rotated"):  # 9:16 already; the rotated file is upright 90x160
        dst = tmp_path / f"{name}.mp4"
        outcome = perturb("crop_9x16", videos[name], dst)
        assert outcome.status == "unchanged"
        assert "not wider than 9:16" in outcome.error
        assert not dst.exists()


def test_caption_draws_a_bar_and_nothing_else(videos: dict[str, Path], tmp_path: Path) -> None:
    dst = tmp_path / "caption.mp4"
    assert perturb("caption", videos["landscape"], dst).status == "ok"
    src, out = next(iter_frames(videos["landscape"])), next(iter_frames(dst))
    diff = np.abs(src.astype(np.int16) - out.astype(np.int16)).mean(axis=(1, 2))
    assert diff[:40].max() < 4  # the top half: only re-encoding noise
    assert diff[60:85].max() > 30  # the bar near the bottom


@pytest.mark.parametrize("name", ["truncated", "garbage", "missing"])
def test_a_hostile_input_is_a_status(name: str, videos: dict[str, Path], tmp_path: Path) -> None:
    dst = tmp_path / "out.mp4"
    outcome = perturb("downscale", videos[name], dst)
    assert outcome.status in STATUS_OF_REASON.values()
    assert outcome.error.startswith("downscale: ") and str(videos[name]) in outcome.error
    assert not dst.exists() and not list(tmp_path.iterdir())


def test_config_refuses_unknown_perturbations_by_name() -> None:
    with pytest.raises(ConfigError, match=r"unknown perturbations \['blur'\]"):
        RobustnessConfig.from_params({"perturbations": ["crf23", "blur"]})
    with pytest.raises(ConfigError, match="twice"):
        RobustnessConfig.from_params({"perturbations": ["crf23", "crf23"]})
    with pytest.raises(ConfigError, match="max_videos"):
        RobustnessConfig.from_params({"max_videos": 0})
    assert RobustnessConfig.from_params({"perturbations": "caption"}).perturbations == ("caption",)


def test_subset_is_stratified_seeded_and_per_fold() -> None:
    n = 40
    index = pl.DataFrame(
        {
            "video_id": [f"v{i:02d}" for i in range(n)],
            "cascade_id": [f"c{i}" for i in range(n)],
            "group_id": [f"c{i}" for i in range(n)],
            "label": ["fake" if i % 4 == 0 else "real" for i in range(n)],
            "target": [int(i % 4 == 0) for i in range(n)],
            "path": [f"/v/{i}.mp4" for i in range(n)],
        }
    )
    folds = data.folds(index)
    variant = folds.head(1).with_columns(
        pl.lit("v00~1").alias("video_id"), pl.lit(1).alias("variant")
    )
    folds = pl.concat([folds, variant], how="vertical_relaxed")
    everything = select_videos(folds, index, None, 0)
    assert everything.height == n and "v00~1" not in everything["video_id"].to_list()
    one = select_videos(folds, index, 8, seed=1)
    assert one.group_by("fold").len().sort("fold")["len"].to_list() == [8, 8]
    for k in (0, 1):
        part = one.filter(pl.col("fold") == k)
        val = folds.filter((pl.col("fold") == k) & (pl.col("role") == "val"))
        assert set(part["video_id"]) <= set(val["video_id"])
        assert sorted(part["target"].to_list()) == [0] * 6 + [1] * 2  # 15 real : 5 fake
    assert select_videos(folds, index, 8, seed=1).equals(one)
    assert not select_videos(folds, index, 8, seed=2)["video_id"].equals(one["video_id"])


# --- scoring: one code path with `aura predict` -------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A corpus, folds, one logistic regression per fold, a tiny clip model, the run config."""
    tmp = tmp_path_factory.mktemp("robust_trained")
    cfg = data.config(tmp)
    index = data.corpus(tmp / "videos", n=6)
    folds = data.folds(index)
    table = data.feature_table(index, data.feature_spec(cfg), tmp / "work")
    cells, cv_predictions = data.fit_folds(folds, table)
    torch.manual_seed(0)
    net_cfg = {"width": 4, "blocks": 2, "dropout": 0.0}
    net = create_model("naive_cnn", pretrained=False, **net_cfg)
    clip = TrainedClipModel(
        ClipModelConfig(
            "naive_cnn", 0, net_cfg, {"num_frames": 4, "clip_size": 32, "batch_size": 2}, "False"
        ),
        {k: v.detach().clone() for k, v in net.state_dict().items()},
    )
    return {
        "tmp": tmp,
        "config": cfg,
        "index": index,
        "folds": folds,
        "cells": cells,
        "clip": clip,
        "cv_predictions": cv_predictions,
    }


def _one_member_detector(model: str, kind: str, artifact: Any, cfg: Any) -> Detector:
    """What `aura predict` scores with: this one model, uncalibrated (sigmoid of its logit)."""
    members = [Member(model, 0, kind, artifact)]
    blocks = cfg.to_params()
    manifest = DetectorManifest(
        version="v",
        created_utc="now",
        strategy="fold_ensemble",
        models=[model],
        config=blocks,
        feature_names=[],
        sampler=sampler_settings(
            members,
            blocks["features"],
            blocks["scaled_features"],
            blocks["scaling"],
            cfg.ingest.max_pixels,
        ),
        calibration=Calibration("none").to_dict(),
        threshold=0.5,
        threshold_rule="youden",
        corpus_fingerprint="0",
        config_hash="0",
        git_commit=None,
        cv_metrics={},
        oof_metrics={},
    )
    return Detector(manifest, members, Calibration("none"))


def test_scores_equal_the_inference_path(trained: dict[str, Any], tmp_path: Path) -> None:
    cfg = trained["config"]
    lr = trained["cells"][("logistic_regression", 0)]
    cells = {("logistic_regression", 0): lr, ("naive_cnn", 0): trained["clip"]}
    spec = union_spec(list(cells.values()), cfg)
    assert spec.features and spec.clips == (ClipSpec(4, 32),) and spec.segment_s == 0
    models = stage_models(cells, tmp_path / "models")[0]
    video = trained["index"].row(1, named=True)
    task = Task("t", video["path"], {"perturbation": "crf30", "models": models})
    result = score_task(task, {"spec": spec_to_params(spec)})
    assert result["status"] == "ok" and result["error"] is None
    assert result["info"]["width"] == 96 and result["info"]["n_frames"] == 24

    perturbed = tmp_path / "by_hand.mp4"
    assert perturb("crf30", video["path"], perturbed).status == "ok"
    config = InferenceConfig(segment_s=2.0, max_segments=4)
    for (model, _), artifact in cells.items():
        kind = "clips" if model == "naive_cnn" else "features"
        detector = _one_member_detector(model, kind, artifact, cfg)
        row = score_request(VideoRequest("x", path=str(perturbed)), detector, config)
        assert row["status"] == "ok"
        assert result["scores"][model] == row["probability"]  # same numbers: one code path


def test_hostile_videos_become_rows_for_every_model(
    trained: dict[str, Any], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"<html>not a video</html>")
    cells = dict(trained["cells"])
    cells[("svm", 0)] = SkippedCell("svm", 0, "no such fold")  # left out, not a row
    selected = select_videos(trained["folds"], trained["index"], None, 0)
    selected = selected.with_columns(
        pl.when(pl.col("video_id") == selected["video_id"][0])
        .then(pl.lit(str(bad)))
        .otherwise(pl.col("path"))
        .alias("path")
    )
    spec = union_spec(list(cells.values()), trained["config"])
    table = score_perturbed(
        cells,
        selected,
        ["crop_9x16", "fps_half"],
        spec,
        cache_dir=tmp_path / "cache",
        executor={"backend": "serial", "progress": False},
    )
    assert table.schema == pl.Schema(SCHEMA)
    assert table.height == selected.height * 2  # one model per fold, two perturbations
    broken = table.filter(pl.col("video_id") == selected["video_id"][0])
    assert broken["status"].to_list() == ["not_video"] * 2
    assert broken["score"].null_count() == 2
    good = table.filter(pl.col("video_id") != selected["video_id"][0])
    assert set(good["status"]) == {"ok"}
    assert good["score"].is_between(0, 1).all()
    assert good.filter(pl.col("perturbation") == "crop_9x16")["width"].unique().to_list() == [36]
    assert good.filter(pl.col("perturbation") == "fps_half")["n_frames"].unique().to_list() == [12]


def test_model_digest_is_content_only(trained: dict[str, Any], tmp_path: Path) -> None:
    lr0, lr1 = (
        trained["cells"][("logistic_regression", 0)],
        trained["cells"][("logistic_regression", 1)],
    )
    staged = stage_models(
        {("logistic_regression", 0): lr0, ("naive_cnn", 0): trained["clip"]}, tmp_path
    )
    for entry in staged[0]:
        fmt = "safetensors" if entry["kind"] == "clips" else "skops"
        assert artifact_digest(load_artifact(entry["file"], fmt)) == entry["digest"]
    assert artifact_digest(lr0) != artifact_digest(lr1)


# --- metrics and plot ---------------------------------------------------------------------------


def test_metrics_pool_folds_and_pair_the_delta() -> None:
    rng = np.random.default_rng(0)
    n = 40
    target = np.arange(n) % 2
    base = pl.DataFrame(
        {
            "model": ["m"] * n,
            "fold": np.arange(n) % 2,
            "video_id": [f"v{i}" for i in range(n)],
            "cascade_id": [f"c{i // 2}" for i in range(n)],
            "group_id": [f"c{i // 2}" for i in range(n)],
            "target": target.astype(np.int8),
            "score": np.clip(0.5 + 0.4 * (target - 0.5) + rng.normal(0, 0.2, n), 0, 1),
        }
    )
    worse = base.with_columns(
        pl.lit("crf38").alias("perturbation"),
        pl.Series("score", rng.random(n)),
        pl.lit("ok").alias("status"),
        pl.lit(None, pl.String).alias("error"),
    )
    same = base.with_columns(
        pl.lit("crop_9x16").alias("perturbation"),
        pl.lit("unchanged").alias("status"),
        pl.lit(None, pl.String).alias("error"),
    )
    # two failed rows: no score, left out of the ROC-AUC and of the paired baseline
    same = same.with_columns(
        pl.when(pl.int_range(pl.len()) < 2).then(None).otherwise(pl.col("score")).alias("score"),
        pl.when(pl.int_range(pl.len()) < 2)
        .then(pl.lit("corrupt"))
        .otherwise(pl.col("status"))
        .alias("status"),
    )
    preds = pl.concat([worse, same], how="diagonal_relaxed")
    metrics = robustness_metrics(preds, base, ["crf38", "crop_9x16"], n_boot=200, seed=0)
    rows = {r["perturbation"]: r for r in metrics.iter_rows(named=True)}
    assert list(rows) == ["none", "crf38", "crop_9x16"]
    none, crf, crop = rows["none"], rows["crf38"], rows["crop_9x16"]
    assert none["n"] == n and none["delta"] == 0
    assert none["roc_auc_lo"] <= none["roc_auc"] <= none["roc_auc_hi"]
    assert crf["delta"] == pytest.approx(crf["roc_auc"] - none["roc_auc"])
    assert crf["delta"] < -0.1
    assert (crop["n"], crop["n_unchanged"], crop["n_failed"]) == (n - 2, n - 2, 2)
    assert crop["delta"] == pytest.approx(0.0, abs=1e-12)  # same scores on the same videos
    fig = robustness_plot(metrics)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["none", "crf38", "crop_9x16"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["m"]
    assert not any(math.isnan(v) for v in (crf["roc_auc_lo"], crf["roc_auc_hi"]))
