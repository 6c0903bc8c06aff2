"""write_explanation: a decodable PNG contact sheet and a JSON holding the numbers."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from aura.explain import (
    Contribution,
    gradcam,
    segment_occlusion,
    unnormalise,
    write_explanation,
)
from aura.inference.inputs import Segment
from aura.models import create_model
from aura.training.clips import to_tensor
from aura.video import sample_frames
from tests.explain.conftest import ArtefactVideo

SEGMENTS = [Segment(0.0, 2.0), Segment(2.0, 4.0), Segment(8.0, 9.0)]


def _contribution(feature: str, value: float) -> Contribution:
    return Contribution(
        column=f"s4_{feature}",
        feature=feature,
        group="blur",
        stage="stage 4",
        description=f"what {feature} measures",
        value=1.0,
        standardised=2.0,
        coefficient=value / 2.0,
        contribution=value,
    )


def test_unnormalise_inverts_the_training_normalisation(
    artefact_videos: list[ArtefactVideo],
) -> None:
    frames = sample_frames(artefact_videos[1].path, 8).frames
    clip = to_tensor(frames)
    assert np.array_equal(unnormalise(clip[None]), frames)
    assert np.array_equal(unnormalise(clip), frames)
    with pytest.raises(ValueError, match="one clip"):
        unnormalise(torch.stack([clip, clip]))


def test_sheet_and_json_from_a_real_video(
    tmp_path: Path, artefact_videos: list[ArtefactVideo]
) -> None:
    sampled = sample_frames(artefact_videos[1].path, 8)
    clip = to_tensor(sampled.frames)[None]
    torch.manual_seed(0)
    net = create_model("naive_cnn", pretrained=False, width=8, blocks=2)
    cam = gradcam(net, clip)
    drops = segment_occlusion(net, clip, sampled.pts_s, SEGMENTS)
    assert np.isnan(drops[2])
    contributions = [_contribution("blur_lap_var", 1.5), _contribution("blur_grad_mean", -0.5)]
    png, js = write_explanation(
        tmp_path / "out",
        "video_1.naive_cnn",
        frames_uint8=unnormalise(clip),
        heatmaps=cam.heatmaps,
        segment_drops=drops,
        segments=SEGMENTS,
        contributions=contributions,
        meta={"model": "naive_cnn", "path": str(artefact_videos[1].path), "p": np.float32(0.7)},
        frame_times_s=sampled.pts_s.tolist(),
    )
    image = cv2.imread(str(png))
    assert image is not None and image.shape[0] > 200 and image.shape[1] > 400
    assert not list((tmp_path / "out").glob(".*tmp"))  # atomic writes left nothing behind
    doc = json.loads(js.read_text())
    assert doc["png"] == png.name and doc["meta"]["model"] == "naive_cnn"
    assert doc["meta"]["p"] == pytest.approx(0.7)
    assert doc["frames"]["count"] == 8 and doc["frames"]["times_s"] == sampled.pts_s.tolist()
    heat = doc["gradcam"]
    assert heat["shape"] == [8, 64, 64]
    np.testing.assert_allclose(heat["frame_mean"], cam.heatmaps.mean(axis=(1, 2)), atol=1e-5)
    assert len(heat["grid"]) == 8 and len(heat["grid"][0]) == 16
    assert [s["logit_drop"] for s in doc["segments"]][:2] == pytest.approx(drops[:2].tolist())
    assert doc["segments"][2]["logit_drop"] is None  # NaN: the segment held no frame
    assert [c["feature"] for c in doc["contributions"]] == ["blur_lap_var", "blur_grad_mean"]
    assert doc["contributions"][0]["contribution"] == 1.5


def test_without_heatmaps_or_contributions(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(5, 40, 56, 3), dtype=np.uint8)
    png, js = write_explanation(
        tmp_path,
        "slowfast",
        frames_uint8=frames,
        heatmaps=None,
        segment_drops=[0.2, -0.1],
        segments=SEGMENTS[:2],
        contributions=None,
        meta={"model": "slowfast", "gradcam": "Grad-CAM not supported for slowfast"},
    )
    assert cv2.imread(str(png)) is not None
    doc = json.loads(js.read_text())
    assert doc["gradcam"] is None and doc["contributions"] == []
    assert doc["meta"]["gradcam"].startswith("Grad-CAM not supported")


def test_mismatched_inputs_raise(tmp_path: Path) -> None:
    frames = np.zeros((4, 32, 32, 3), np.uint8)
    common = {"segments": SEGMENTS[:1], "contributions": None, "meta": {}}
    with pytest.raises(ValueError, match="heatmaps"):
        write_explanation(
            tmp_path,
            "x",
            frames_uint8=frames,
            heatmaps=np.zeros((4, 16, 16)),
            segment_drops=[0.0],
            **common,
        )
    with pytest.raises(ValueError, match="2 segment drops for 1 segments"):
        write_explanation(
            tmp_path, "x", frames_uint8=frames, heatmaps=None, segment_drops=[0.0, 1.0], **common
        )
    with pytest.raises(ValueError, match="uint8"):
        write_explanation(
            tmp_path,
            "x",
            frames_uint8=frames.astype(np.float32),
            heatmaps=None,
            segment_drops=[0.0],
            **common,
        )
