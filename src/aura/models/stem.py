"""The input filter every clip model may put before its network: ``input_filter: rgb | srm``.

``srm`` replaces each frame by its high-pass noise residual, the fixed 5x5 "KV" kernel of the
spatial rich model (Fridrich & Kodovsky 2012), per colour channel, as forensic CNNs do (Zhou et
al. 2018, "Learning Rich Features for Image Manipulation Detection"). Scene content is mostly
removed and what is left is sensor noise, resampling and blending traces, which a network
trained from scratch otherwise takes many more steps to find. The filter has no weights: it is a
buffer, so checkpoints and Grad-CAM work as before (the wrapped network is ``net``).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

InputFilter = Literal["rgb", "srm"]
INPUT_FILTERS: tuple[str, ...] = ("rgb", "srm")

#: Clips are normalised as ``(x / 255 - 0.45) / 0.225`` (aura.training.clips); the residual is
#: brought back to grey levels and divided by this, so camera noise comes out near unit scale.
_GREY_LEVELS = 0.225 * 255.0
_RESIDUAL_SCALE = 4.0
_KV = (
    (-1, 2, -2, 2, -1),
    (2, -6, 8, -6, 2),
    (-2, 8, -12, 8, -2),
    (2, -6, 8, -6, 2),
    (-1, 2, -2, 2, -1),
)


class SRMResidual(nn.Module):
    """(N, 3, T, H, W) normalised clip -> its per-channel KV high-pass residual, same shape."""

    def __init__(self) -> None:
        super().__init__()
        kernel = torch.tensor(_KV, dtype=torch.float32) / 12.0
        self.register_buffer("kernel", kernel.expand(3, 1, 5, 5).clone(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, h, w = x.shape
        frames = x.transpose(1, 2).reshape(n * t, c, h, w)
        # reflect padding needs a side of at least 3; replicate works for any size
        padded = F.pad(frames, (2, 2, 2, 2), mode="replicate")
        res = F.conv2d(padded, self.kernel.to(padded.dtype), groups=c)
        res = res.view(n, t, c, h, w).transpose(1, 2)
        return res * (_GREY_LEVELS / _RESIDUAL_SCALE)


def keep_traits(wrapper: nn.Module, net: nn.Module) -> None:
    """Give ``wrapper`` (holding ``net`` as ``wrapper.net``) the traits callers read off a
    model: its frame minimum and its Grad-CAM layer, found through the wrapper."""
    wrapper.min_frames = getattr(net, "min_frames", 1)
    if layer := getattr(net, "cam_layer", None):
        wrapper.cam_layer = f"net.{layer}"


class FilteredClassifier(nn.Module):
    """``net`` applied to the filtered clip; keeps ``net``'s frame minimum and Grad-CAM layer
    (``net`` checks the clip; a frozen part of it stays frozen, its ``train`` still runs)."""

    def __init__(self, net: nn.Module, stem: nn.Module) -> None:
        super().__init__()
        self.stem = stem
        self.net = net
        keep_traits(self, net)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if getattr(self.net, "takes_raw_clip", False):  # e.g. two_stream: flow from the clip
            return self.net(self.stem(x), raw=x)
        return self.net(self.stem(x))


def apply_input_filter(net: nn.Module, input_filter: str) -> nn.Module:
    """``net`` itself for ``rgb``; wrapped behind the :class:`SRMResidual` for ``srm``."""
    if input_filter == "rgb":
        return net
    if input_filter == "srm":
        return FilteredClassifier(net, SRMResidual())
    raise ValueError(f"input_filter must be one of {INPUT_FILTERS}, got {input_filter!r}")
