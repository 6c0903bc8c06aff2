"""Shared fixtures of the inference tests: real generated videos (good and hostile) and a real
detector (a logistic regression fitted on their features + a tiny naive_cnn), saved to disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from aura.inference.inputs import ClipSpec
from aura.inference.prepare import input_spec_from_config, prepare_video
from aura.models import create_model, fit_baseline
from aura.models.artifacts import ClipModelConfig, TrainedClipModel
from aura.parameters import AuraConfig, resolve
from aura.release import Calibration, Detector, DetectorManifest, Member, save_detector
from aura.release.detector import sampler_settings
from aura.video import write_video
from tests.conftest import texture

CLIP = ClipSpec(num_frames=4, size=32)
TINY_NET = {"width": 4, "blocks": 2, "dropout": 0.0}


def scoring_config(tmp: Path) -> AuraConfig:
    """The project's schema with small, fast stage settings."""
    return resolve(
        {
            "corpus": {"kind": "demo", "root": str(tmp / "corpus")},
            "augmentation": {"output_dir": str(tmp / "aug")},
            "scaling": {"output_dir": str(tmp / "scaled"), "target_size": 48},
            "features": {"num_frames": 6},
            "scaled_features": {"num_frames": 4},
            "inference": {"segment_s": 1.0, "max_segments": 4},
        }
    )


def save_test_detector(
    tmp: Path,
    config: AuraConfig,
    members: list[Member],
    calibration: Calibration,
    feature_names: list[str] | None = None,
) -> Path:
    """A fold-ensemble detector of ``members`` (threshold 0.5) saved under ``tmp``."""
    blocks = config.to_params()
    manifest = DetectorManifest(
        version="2026-12-02T00.00.00.000Z",
        created_utc="2026-12-02T00:00:00+00:00",
        strategy="fold_ensemble",
        models=list(dict.fromkeys(m.model for m in members)),
        config=blocks,
        feature_names=list(feature_names or []),
        sampler=sampler_settings(
            members,
            blocks["features"],
            blocks["scaled_features"],
            blocks["scaling"],
            config.ingest.max_pixels,
        ),
        calibration=calibration.to_dict(),
        threshold=0.5,
        threshold_rule="youden",
        corpus_fingerprint="0" * 64,
        config_hash=config.hash(),
        git_commit=None,
        cv_metrics={},
        oof_metrics={},
    )
    folder = tmp / "detector" / manifest.version / "detector"
    save_detector(Detector(manifest, members, calibration), folder)
    return folder


def _clip_frames(i: int, fake: bool, w: int = 96, h: int = 64, n: int = 30) -> list[np.ndarray]:
    rng = np.random.default_rng(i)
    frames = []
    for k in range(n):
        f = texture(k + 7 * i, w, h)
        if fake:  # blocky high-contrast noise: easy for the features to separate
            f = np.clip(f.astype(np.int16) + rng.integers(-60, 60, (h, w, 3)), 0, 255)
            f = f.astype(np.uint8)
        frames.append(f)
    return frames


@pytest.fixture(scope="session")
def scoring_videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Six good clips (3 real-like, 3 fake-like, 2 s at 15 fps) and four hostile files."""
    d = tmp_path_factory.mktemp("scoring") / "videos"
    (d / "nested").mkdir(parents=True)
    out: dict[str, Path] = {}
    for i in range(6):
        fake = i % 2 == 1
        folder = d / "nested" if i >= 4 else d
        name = f"{'fake' if fake else 'real'}_{i}.mp4"
        out[name] = write_video(folder / name, _clip_frames(i, fake), fps=15)
    good = out["real_0.mp4"].read_bytes()
    (d / "truncated.mp4").write_bytes(good[: len(good) // 3])
    (d / "notes.txt").write_text("not a video\n")
    (d / "empty.mp4").write_bytes(b"")
    (d / "garbage.mp4").write_bytes(np.random.default_rng(0).bytes(4096))
    for name in ("truncated.mp4", "notes.txt", "empty.mp4", "garbage.mp4"):
        out[name] = d / name
    return out


@pytest.fixture(scope="session")
def detector_dir(scoring_videos: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A released-style detector: LR fitted on the good clips' real features + a tiny
    naive_cnn, Platt-calibrated, saved as a versioned folder (``<base>/<version>/detector``)."""
    tmp = tmp_path_factory.mktemp("detector")
    config = scoring_config(tmp)
    spec = input_spec_from_config(config, (CLIP,), True, segment_s=0, max_segments=0)
    good = [p for n, p in scoring_videos.items() if n.startswith(("real", "fake"))]
    rows = []
    for p in good:
        table = prepare_video(p, spec, tmp).features
        rows.append(table.with_columns(target=int(p.name.startswith("fake"))))
    import polars as pl

    feats = (
        pl.concat(rows, how="vertical_relaxed")
        .with_row_index("i")
        .with_columns(pl.format("v{}", "i").alias("video_id"))
    )
    lr = fit_baseline("logistic_regression", feats, feats["video_id"].to_list(), {"C": 0.5})
    torch.manual_seed(0)
    net = create_model("naive_cnn", pretrained=False, **TINY_NET)
    trainer = {"num_frames": CLIP.num_frames, "clip_size": CLIP.size, "batch_size": 2}
    cnn = TrainedClipModel(
        ClipModelConfig("naive_cnn", 0, dict(TINY_NET), trainer, "False"),
        {k: v.detach().clone() for k, v in net.state_dict().items()},
    )
    members = [
        Member("logistic_regression", 0, "features", lr),
        Member("naive_cnn", 0, "clips", cnn),
        Member("naive_cnn", 1, "clips", cnn),
    ]
    calibration = Calibration("platt", {"a": 0.9, "b": 0.05})
    return save_test_detector(tmp, config, members, calibration, lr.feature_names)
