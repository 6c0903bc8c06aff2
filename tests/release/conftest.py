"""Shared fixtures of the release tests: a learnable synthetic feature table, real fitted
baselines, a real tiny clip model, hand-built video inputs and a detector of both kinds."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest
import torch

from aura.features import FEATURES
from aura.inference.inputs import ClipSpec, Segment, VideoInputs
from aura.models import create_model
from aura.models.artifacts import ClipModelConfig, FitReport, TrainedClipModel
from aura.models.baselines import FittedBaseline, fit_baseline
from aura.release import Calibration, Detector, DetectorManifest, Member
from aura.release.detector import sampler_settings

FEATURE_NAMES = list(FEATURES)[:6]
#: naive_cnn's builder settings, kept tiny (two conv blocks of width 4 and 8)
TINY_NET = {"width": 4, "blocks": 2, "dropout": 0.0}
CLIP = ClipSpec(num_frames=4, size=32)
N_SEGMENTS = 3


def feature_table(n: int, seed: int, prefix: str = "") -> pl.DataFrame:
    """``n`` videos (half fake): noise plus a class shift in the first feature."""
    rng = np.random.default_rng(seed)
    target = np.arange(n) % 2
    cols = {f"{prefix}{name}": rng.normal(size=n) for name in FEATURE_NAMES}
    cols[f"{prefix}{FEATURE_NAMES[0]}"] += 1.5 * target
    return pl.DataFrame({"video_id": [f"v{i:03d}" for i in range(n)], "target": target, **cols})


def fit_report(best_epoch: int | None) -> FitReport:
    return FitReport(
        pretrained_status="off",
        batch_size=2,
        accumulate_grad_batches=1,
        precision="32-true",
        epochs_run=2,
        best_epoch=best_epoch,
        best_val_auc=None,
        stopped_early=False,
        resumed_from=None,
        n_train_clips=4,
        n_val_clips=2,
    )


def tiny_clip_model(fold: int | None, seed: int, best_epoch: int | None = 0) -> TrainedClipModel:
    """A real naive_cnn (random weights from ``seed``) wrapped like a training cell's output."""
    torch.manual_seed(seed)
    net = create_model("naive_cnn", pretrained=False, **TINY_NET)
    trainer = {"num_frames": CLIP.num_frames, "clip_size": CLIP.size, "batch_size": 2}
    config = ClipModelConfig("naive_cnn", fold, dict(TINY_NET), trainer, "False")
    state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    return TrainedClipModel(config, state, fit_report(best_epoch))


def video_inputs(seed: int, feature_names: list[str] = FEATURE_NAMES) -> VideoInputs:
    """One video's inputs built by hand: a feature row, segment rows and random clips."""
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)

    def rows(n: int) -> pl.DataFrame:
        return pl.DataFrame({name: rng.normal(size=n) for name in feature_names})

    shape = (3, CLIP.num_frames, CLIP.size, CLIP.size)
    return VideoInputs(
        path=f"/videos/hand_{seed}.mp4",
        duration_s=2.0 * N_SEGMENTS,
        segments=[Segment(2.0 * i, 2.0 * (i + 1)) for i in range(N_SEGMENTS)],
        features=rows(1),
        segment_features=rows(N_SEGMENTS),
        clips={CLIP: torch.randn(1, *shape, generator=gen)},
        segment_clips={CLIP: torch.randn(N_SEGMENTS, *shape, generator=gen)},
    )


def manifest_for(members: list[Member], calibration: Calibration, **over: Any) -> DetectorManifest:
    """A manifest for hand-assembled ``members`` (the release pipeline fills in real values)."""
    values: dict[str, Any] = {
        "version": "2026-01-01T00.00.00.000Z",
        "created_utc": "2026-01-01T00:00:00+00:00",
        "strategy": "fold_ensemble",
        "models": list(dict.fromkeys(m.model for m in members)),
        "config": {"release": {"calibration": calibration.method}},
        "feature_names": FEATURE_NAMES,
        "sampler": sampler_settings(members, {"num_frames": 16}, {"prefix": "s4_"}, {}, None),
        "calibration": calibration.to_dict(),
        "threshold": 0.5,
        "threshold_rule": "youden",
        "corpus_fingerprint": "0" * 64,
        "config_hash": "0" * 12,
        "git_commit": None,
        "cv_metrics": {},
        "oof_metrics": {},
    }
    return DetectorManifest(**{**values, **over})


@pytest.fixture(scope="session")
def baselines() -> list[FittedBaseline]:
    """Two logistic-regression fold models fitted on halves of a synthetic table."""
    table = feature_table(40, seed=0)
    ids = table["video_id"].to_list()
    return [
        fit_baseline("logistic_regression", table, ids[:30], seed=0),
        fit_baseline("logistic_regression", table, ids[10:], seed=1),
    ]


@pytest.fixture(scope="session")
def both_kinds(baselines: list[FittedBaseline]) -> Detector:
    """A fold ensemble of two baselines and two tiny clip models, Platt-calibrated."""
    members = [Member("logistic_regression", k, "features", b) for k, b in enumerate(baselines)]
    members += [Member("naive_cnn", k, "clips", tiny_clip_model(k, seed=k)) for k in range(2)]
    calibration = Calibration("platt", {"a": 0.8, "b": -0.1})
    return Detector(manifest_for(members, calibration), members, calibration)
