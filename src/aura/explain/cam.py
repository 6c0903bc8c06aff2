"""Grad-CAM heatmaps for the 3D CNNs through ``pytorch_grad_cam.GradCAM``.

A model opts in with a class attribute ``cam_layer`` (a :meth:`torch.nn.Module.get_submodule`
path: ``naive_cnn`` → ``features``, ``r3d18_inception`` → ``inception``, ``x3d`` →
``net.blocks.4``). GradCAM's 5-D branch weights channels by the gradient mean over (T, H, W) and
upsamples the map to the clip's (T, H, W), min-max scaled to [0, 1] over the whole clip. A per-frame
2D layer (``naive_cnn`` runs on N·T frames) is folded back to (N, C, T, h, w) first, so its map
is one video-level CAM too. Models without ``cam_layer`` (SlowFast's two-pathway input, the ViTs'
token maps) get a :class:`CamResult` that says so instead of a heatmap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn


@dataclass(frozen=True)
class CamResult:
    """``heatmaps`` (T, H, W) float32 in [0, 1] (1 = most evidence for fake), or None with
    ``note`` saying why not; ``layer`` is the target submodule."""

    model: str
    heatmaps: np.ndarray | None
    layer: str | None
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.heatmaps is not None


def model_name(net: nn.Module) -> str:
    """The registry name a built model carries, else its class name."""
    return str(getattr(net, "model_name", type(net).__name__))


def check_clip(clip: torch.Tensor) -> tuple[int, int, int]:
    """``(T, H, W)`` of a single normalised clip (1, 3, T, H, W); ``ValueError`` otherwise."""
    if clip.ndim != 5 or clip.shape[0] != 1 or clip.shape[1] != 3:
        raise ValueError(f"expected one clip shaped (1, 3, T, H, W), got {tuple(clip.shape)}")
    _, _, t, h, w = clip.shape
    return int(t), int(h), int(w)


def gradcam(net: nn.Module, clip: torch.Tensor, *, layer: str | None = None) -> CamResult:
    """Grad-CAM of the fake logit of ``net`` on ``clip`` (1, 3, T, H, W) at ``layer`` (default:
    the model's ``cam_layer``). The model's train/eval mode is restored afterwards; its
    parameter gradients are cleared."""
    name = model_name(net)
    t, h, w = check_clip(clip)
    layer = layer or getattr(net, "cam_layer", None)
    if not layer:
        note = f"Grad-CAM not supported for {name}: the model names no cam_layer"
        return CamResult(name, None, None, note)
    target = net.get_submodule(layer)

    def fold(a: torch.Tensor) -> torch.Tensor:
        # (N*T, C, h, w) activations of a per-frame 2D layer -> (N, C, T, h, w)
        if a.ndim == 4 and a.shape[0] == t:
            return a.reshape(1, t, *a.shape[1:]).transpose(1, 2)
        return a

    was_training = net.training
    x = clip.detach().clone().requires_grad_(True)  # activations need grad even if frozen
    try:
        with torch.enable_grad(), GradCAM(net, [target], reshape_transform=fold) as cam:
            maps = cam(input_tensor=x, targets=[ClassifierOutputTarget(0)])
    finally:
        net.train(was_training)
        net.zero_grad(set_to_none=True)
    heat = np.asarray(maps[0], dtype=np.float32)
    if heat.shape != (t, h, w):  # scipy zoom rounds; make the contract exact
        heat = (
            nn.functional.interpolate(
                torch.from_numpy(heat)[None, None], size=(t, h, w), mode="trilinear"
            )[0, 0]
            .numpy()
            .astype(np.float32)
        )
    return CamResult(name, np.clip(np.nan_to_num(heat), 0.0, 1.0), layer)
