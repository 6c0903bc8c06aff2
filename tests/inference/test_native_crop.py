"""A detector whose clip model was trained on native crops: the manifest records the clip
source, inference feeds centred native crops of the input file, and explanations draw
Grad-CAM on those crop frames."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from aura.explain import unnormalise
from aura.inference.explain import explain_video
from aura.inference.inputs import ClipSpec
from aura.inference.prepare import prepare_video
from aura.models import create_model
from aura.models.artifacts import ClipModelConfig, TrainedClipModel
from aura.release import Calibration, Member
from aura.release.detector import load_detector
from tests.conftest import aura_cli
from tests.inference.conftest import TINY_NET, save_test_detector, scoring_config

S, T = 32, 4
NATIVE = ClipSpec(T, None, "native_crop", S)


def _member(fold: int, trainer: dict[str, object]) -> Member:
    torch.manual_seed(fold)
    net = create_model("naive_cnn", pretrained=False, **TINY_NET)
    model = TrainedClipModel(
        ClipModelConfig("naive_cnn", fold, dict(TINY_NET), trainer, "False"),
        {k: v.detach().clone() for k, v in net.state_dict().items()},
    )
    return Member("naive_cnn", fold, "clips", model)


@pytest.fixture(scope="module")
def native_detector(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("native_detector")
    config = scoring_config(tmp)
    trainer = {
        "num_frames": T,
        "clip_size": 48,  # a scaled-clip setting: not used by native crops
        "clip_source": "native_crop",
        "crop_size": S,
        "batch_size": 2,
    }
    members = [_member(0, trainer), _member(1, trainer)]
    calibration = Calibration("platt", {"a": 1.0, "b": 0.0})
    return save_test_detector(tmp, config, members, calibration)


def test_manifest_records_the_clip_source(native_detector: Path) -> None:
    detector = load_detector(native_detector)
    clips = detector.manifest.sampler["clips"]
    assert clips == [{"num_frames": T, "size": None, "source": "native_crop", "crop_size": S}]
    spec = detector.input_spec()
    assert spec.clips == (NATIVE,)
    assert {m.model_kind.clip_spec(m.artifact) for m in detector.members} == {NATIVE}


def test_manifests_before_native_crops_read_as_scaled(native_detector: Path) -> None:
    detector = load_detector(native_detector)
    detector.manifest.sampler["clips"] = [{"num_frames": 4, "size": 32}]
    assert detector.input_spec().clips == (ClipSpec(4, 32),)
    old = ClipModelConfig("naive_cnn", 0, {}, {"num_frames": 4, "clip_size": 32}, "False")
    assert (old.clip_source, old.clip_size, old.crop_size) == ("scaled", 32, None)


@pytest.mark.parametrize(
    "bad",
    [
        {"size": 32, "source": "native_crop", "crop_size": 32},
        {"size": None, "source": "native_crop"},
        {"size": 32, "crop_size": 32},
        {"size": None, "source": "native"},
    ],
)
def test_clip_spec_refuses_mixed_shapes(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ClipSpec(4, **bad)  # type: ignore[arg-type]


def test_scoring_and_gradcam_on_native_crops(
    native_detector: Path, scoring_videos: dict[str, Path], tmp_path: Path
) -> None:
    detector = load_detector(native_detector)
    video = prepare_video(scoring_videos["fake_1.mp4"], detector.input_spec(1.0, 4), tmp_path)
    assert video.scaled_path is None  # nothing needed the scaled video
    assert video.clips[NATIVE].shape == (1, 3, T, S, S)
    score = detector.score(video)
    assert 0.0 <= score.probability <= 1.0
    assert len(score.segment_probabilities) == len(video.segments) >= 1
    e = explain_video(detector, video, score, top_k=5)
    assert e.frames is not None and e.frames.shape == (T, S, S, 3)
    assert np.array_equal(e.frames, unnormalise(video.clips[NATIVE]))
    assert e.heatmaps is not None and e.heatmaps.shape == (T, S, S)
    assert len(e.frame_times_s) == T and all(0 <= t <= video.duration_s for t in e.frame_times_s)
    assert any("native-resolution crop" in n for n in e.meta["notes"])


def test_explain_cli_draws_the_crop_frames(
    native_detector: Path, scoring_videos: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "explain"
    res = aura_cli(
        "predict",
        scoring_videos["real_0.mp4"],
        "--detector",
        native_detector,
        "--explain",
        out,
        "--no-progress",
    )
    assert res.exit_code == 0, res.output
    (png,) = sorted(out.glob("*.png"))
    doc = json.loads(png.with_suffix(".json").read_text())
    assert (doc["frames"]["count"], doc["frames"]["height"], doc["frames"]["width"]) == (T, S, S)
    assert doc["gradcam"]["shape"] == [T, S, S]
