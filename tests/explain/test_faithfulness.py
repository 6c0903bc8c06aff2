"""Explanations point at the evidence: a naive_cnn trained on videos whose fakes carry a checker
patch in one segment and one region is explained on held-out fakes, and removing what the
explanation points at lowers the fake logit more than removing a random segment or region."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from aura.explain import gradcam, segment_frames, segment_occlusion
from aura.inference.inputs import Segment
from aura.models import create_model
from aura.training.clips import to_tensor
from aura.video import sample_frames
from tests.explain.conftest import N_FRAMES, PATCH, SEGMENT_S, SIDE, ArtefactVideo

T = 8  # clip frames: two per 1-s segment
N_TRAIN = 32
SEGMENTS = [Segment(k * SEGMENT_S, (k + 1) * SEGMENT_S) for k in range(4)]


def _clips(videos: list[ArtefactVideo]) -> list[tuple[torch.Tensor, np.ndarray]]:
    out = []
    for v in videos:
        clip = sample_frames(v.path, T)
        assert clip.n_frames == N_FRAMES
        out.append((to_tensor(clip.frames)[None], clip.pts_s))
    return out


@pytest.fixture(scope="module")
def trained(artefact_videos: list[ArtefactVideo]) -> tuple[nn.Module, list, list]:
    """(naive_cnn trained on the first 32 videos, held-out videos, their clips)."""
    torch.manual_seed(0)
    train, held = artefact_videos[:N_TRAIN], artefact_videos[N_TRAIN:]
    x = torch.cat([c for c, _ in _clips(train)])
    y = torch.tensor([[float(v.fake)] for v in train])
    net = create_model("naive_cnn", pretrained=False, width=8, blocks=3)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3)
    net.train()
    for _ in range(50):  # full batch: 32 clips x 8 frames at 64 px, ~4 s on one thread
        opt.zero_grad()
        nn.functional.binary_cross_entropy_with_logits(net(x), y).backward()
        opt.step()
    return net.eval(), held, _clips(held)


def _logit(net: nn.Module, clip: torch.Tensor) -> float:
    with torch.no_grad():
        return float(net(clip)[0, 0])


def test_model_detects_the_artefact_on_held_out_videos(trained) -> None:
    net, held, clips = trained
    scores = np.array([_logit(net, c) for c, _ in clips])
    fake = np.array([v.fake for v in held])
    # AUC as the share of (fake, real) pairs ranked right: the explanations below need a model
    # that really uses the patch
    pairs = scores[fake][:, None] > scores[~fake][None, :]
    assert pairs.mean() >= 0.9


def test_occlusion_finds_the_artefact_segment(trained) -> None:
    net, held, clips = trained
    top, rand, found = [], [], 0
    for v, (clip, times) in zip(held, clips, strict=True):
        if not v.fake:
            continue
        assert [len(g) for g in segment_frames(times, SEGMENTS)] == [2, 2, 2, 2]
        drops = segment_occlusion(net, clip, times, SEGMENTS)
        found += int(np.argmax(drops) == v.segment)
        top.append(drops.max())
        rand.append(drops.mean())  # expected drop of a uniformly random segment
    assert found >= len(top) - 1  # the ground-truth segment, on all but at most one fake
    assert np.mean(top) > np.mean(rand) + 0.3


def _blank(clip: torch.Tensor, corners: list[tuple[int, int]]) -> torch.Tensor:
    """One copy of ``clip`` per (top, left) with that PATCH square set to 0 in every frame."""
    out = clip.repeat(len(corners), 1, 1, 1, 1)
    for i, (y, x) in enumerate(corners):
        out[i, ..., y : y + PATCH, x : x + PATCH] = 0.0
    return out


def test_gradcam_points_at_the_patch_in_time_and_space(trained) -> None:
    net, held, clips = trained
    grid = [(y, x) for y in range(0, SIDE - PATCH + 1, 8) for x in range(0, SIDE - PATCH + 1, 8)]
    seg_top, seg_rand, region_top, region_rand, contrast = [], [], [], [], []
    for v, (clip, times) in zip(held, clips, strict=True):
        if not v.fake:
            continue
        cam = gradcam(net, clip)
        assert cam.ok and cam.heatmaps.shape == (T, SIDE, SIDE)
        heat = cam.heatmaps
        # time: occlude the segment holding the most Grad-CAM heat vs a random segment
        mass = np.array([heat[g].mean() for g in segment_frames(times, SEGMENTS)])
        drops = segment_occlusion(net, clip, times, SEGMENTS)
        seg_top.append(drops[int(np.argmax(mass))])
        seg_rand.append(drops.mean())
        # space: blank the hottest PATCH square (heat summed over frames) vs a random square
        # (the mean over squares on an 8-px grid)
        pooled = nn.functional.avg_pool2d(torch.from_numpy(heat.mean(0))[None, None], PATCH, 1)
        r, c = np.unravel_index(int(pooled.argmax()), pooled.shape[-2:])
        base = _logit(net, clip)
        with torch.no_grad():
            region_top.append(base - float(net(_blank(clip, [(int(r), int(c))]))[0, 0]))
            region_rand.append(base - float(net(_blank(clip, grid)).mean()))
        # and the heat sits on the patch rather than elsewhere
        top, left = v.box
        inside = np.zeros((SIDE, SIDE), dtype=bool)
        inside[top : top + PATCH, left : left + PATCH] = True
        contrast.append(heat[:, inside].mean() - heat[:, ~inside].mean())
    assert np.mean(seg_top) > np.mean(seg_rand) + 0.3
    assert np.mean(region_top) > np.mean(region_rand) + 0.1
    assert min(contrast) > 0.05
