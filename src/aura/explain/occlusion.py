"""Temporal occlusion for every deep model: how much the fake logit drops without some frames.

Occluded frames are set to 0, which after the ``(x / 255 - MEAN) / STD`` normalisation is the
dataset-mean grey. A drop is ``logit(clip) - logit(occluded clip)``: positive where those frames
held evidence for fake. Equal windows run through ``captum.attr.Occlusion`` (a window spans all
channels and pixels and slides over T with a stride of its own length); unequal windows and time
segments run through ``captum.attr.FeatureAblation`` with a frame-group mask. Segments that share
frames cannot be one mask (each frame belongs to one group), so those are occluded one at a time
in a plain loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
from captum.attr import FeatureAblation, Occlusion
from torch import nn

from aura.explain.cam import check_clip
from aura.inference.inputs import Segment

#: The occlusion value: the dataset mean after normalisation.
BASELINE = 0.0


@contextmanager
def _eval(net: nn.Module) -> Iterator[Callable[[torch.Tensor], torch.Tensor]]:
    """``net`` in eval mode (restored after) as a function (N, 3, T, H, W) -> (N,) logits."""
    was_training = net.training
    net.eval()
    try:
        yield lambda x: net(x).reshape(x.shape[0], -1)[:, 0]
    finally:
        net.train(was_training)


def _ablate_groups(
    net: nn.Module, clip: torch.Tensor, groups: Sequence[np.ndarray], per_eval: int
) -> np.ndarray:
    """Drops for disjoint, non-empty frame-index groups, one FeatureAblation call."""
    t = clip.shape[2]
    mask = torch.full((1, 1, t, 1, 1), len(groups), dtype=torch.long)  # the rest: own group
    for k, frames in enumerate(groups):
        mask[0, 0, torch.as_tensor(frames, dtype=torch.long)] = k
    with _eval(net) as fn, torch.no_grad():
        attr = FeatureAblation(fn).attribute(
            clip, baselines=BASELINE, feature_mask=mask, perturbations_per_eval=per_eval
        )
    return np.array([float(attr[0, 0, int(g[0]), 0, 0]) for g in groups], dtype=np.float64)


def temporal_occlusion(
    net: nn.Module, clip: torch.Tensor, n_windows: int, *, perturbations_per_eval: int = 1
) -> np.ndarray:
    """Logit drop when each of ``n_windows`` consecutive frame windows of ``clip``
    (1, 3, T, H, W) is occluded; windows split T as ``np.array_split`` does. Returns (n_windows,)
    float64. ``perturbations_per_eval`` occluded clips go through the model per forward."""
    t, h, w = check_clip(clip)
    if not 1 <= n_windows <= t:
        raise ValueError(f"n_windows must be in 1..{t} (the clip's frames), got {n_windows}")
    per_eval = max(int(perturbations_per_eval), 1)
    if t % n_windows:
        return _ablate_groups(net, clip, np.array_split(np.arange(t), n_windows), per_eval)
    size = t // n_windows
    window = (3, size, h, w)
    with _eval(net) as fn, torch.no_grad():
        attr = Occlusion(fn).attribute(
            clip,
            sliding_window_shapes=window,
            strides=window,
            baselines=BASELINE,
            perturbations_per_eval=per_eval,
        )
    return np.array([float(attr[0, 0, k * size, 0, 0]) for k in range(n_windows)])


def segment_frames(frame_times_s: Sequence[float], segments: Sequence[Segment]) -> list[np.ndarray]:
    """Indices of the clip frames whose time lies in each segment, ``start_s <= t < end_s``."""
    times = np.asarray(frame_times_s, dtype=np.float64)
    return [np.flatnonzero((times >= s.start_s) & (times < s.end_s)) for s in segments]


def segment_occlusion(
    net: nn.Module,
    clip: torch.Tensor,
    frame_times_s: Sequence[float],
    segments: Sequence[Segment],
    *,
    perturbations_per_eval: int = 1,
) -> np.ndarray:
    """Logit drop when the clip frames inside each segment are occluded; ``frame_times_s`` is
    the time (s) of each of the clip's T frames. Returns (len(segments),) float64, NaN for a
    segment that holds none of the clip's frames (nothing to occlude)."""
    t, _, _ = check_clip(clip)
    if len(frame_times_s) != t:
        raise ValueError(f"frame_times_s has {len(frame_times_s)} times for a {t}-frame clip")
    groups = segment_frames(frame_times_s, segments)
    drops = np.full(len(segments), np.nan)
    live = [k for k, g in enumerate(groups) if g.size]
    if not live:
        return drops
    per_eval = max(int(perturbations_per_eval), 1)
    counts = np.bincount(np.concatenate([groups[k] for k in live]), minlength=t)
    if counts.max() <= 1:
        drops[live] = _ablate_groups(net, clip, [groups[k] for k in live], per_eval)
        return drops
    with _eval(net) as fn, torch.no_grad():
        base = float(fn(clip)[0])
        for k in live:
            occluded = clip.clone()
            occluded[:, :, torch.as_tensor(groups[k], dtype=torch.long)] = BASELINE
            drops[k] = base - float(fn(occluded)[0])
    return drops
