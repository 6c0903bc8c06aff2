"""``mvit_v2_s``: torchvision's Multiscale Vision Transformer v2 (small, Kinetics-400), one logit.

MViT's positional tables are built for exactly 16 frames of 224 x 224 (``INPUT``); it cannot run
on anything else. This family handles that explicitly, by its ``resample_input`` setting:

- ``true`` (default): a clip of any other size is resampled inside the network (frames picked by
  nearest index, pixels resized bilinearly) to 16 x 224 x 224. The build logs it, and the setting
  is recorded in the model's config (``model_cfg``) and so in every artifact. The cost is a full
  16 x 224 x 224 forward whatever the clip size, and upsampling blurs pixel-level traces: for a
  forensic task give it real 16-frame 224-px clips (``trainer: {num_frames: 16, clip_size: 224}``
  or ``crop_size: 224``) where the videos allow.
- ``false``: any other clip size raises a ValueError naming the settings to change.

Its features are tokens, not a feature map: no Grad-CAM layer (temporal occlusion works).
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.video import MViT_V2_S_Weights
from torchvision.models.video import mvit_v2_s as tv_mvit_v2_s

from aura.models.registry import VideoClassifier, register_model
from aura.models.weights import Pretrained, PretrainedSource, apply_pretrained

log = logging.getLogger(__name__)

#: (frames, side) the architecture accepts.
INPUT = (16, 224)
MVIT_V2_S_URL = MViT_V2_S_Weights.KINETICS400_V1.url
SOURCE = PretrainedSource(
    file_name=MVIT_V2_S_URL.rsplit("/", 1)[-1], url=MVIT_V2_S_URL, target="net", skip=("head.",)
)


def resample_clip(x: torch.Tensor, frames: int, side: int) -> torch.Tensor:
    """(N, C, T, H, W) -> (N, C, frames, side, side): nearest frames, bilinear pixels."""
    n, c, t, h, w = x.shape
    if t != frames:
        index = torch.linspace(0, t - 1, frames, device=x.device).round().long()
        x = x.index_select(2, index)
    if (h, w) != (side, side):
        flat = x.transpose(1, 2).reshape(n * frames, c, h, w)
        flat = F.interpolate(flat, size=(side, side), mode="bilinear", align_corners=False)
        x = flat.reshape(n, frames, c, side, side).transpose(1, 2)
    return x


class MViTClassifier(VideoClassifier):
    """torchvision MViT-v2-S (``self.net``) with a one-logit head and its input size enforced."""

    #: (frames, side) the network itself accepts.
    input_size: tuple[int, int] = INPUT

    def __init__(self, net: nn.Module, resample_input: bool) -> None:
        super().__init__()
        self.net = net
        self.resample_input = resample_input

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, _, t, h, w = self.check_clip(x)
        frames, side = self.input_size
        if (t, h, w) != (frames, side, side):
            if not self.resample_input:
                raise ValueError(
                    f"mvit_v2_s accepts only {frames} x {side} x {side} clips, got {t} x {h} x "
                    f"{w}: set training.trainer.num_frames={frames} and clip_size={side} "
                    f"(or crop_size={side}) for it (model_params.mvit_v2_s.trainer), or "
                    "model_params.mvit_v2_s.resample_input=true"
                )
            x = resample_clip(x, frames, side)
        return self.net(x)


@register_model
def mvit_v2_s(
    *,
    pretrained: Pretrained,
    weights_path: str | None,
    resample_input: bool = True,
    dropout: float = 0.5,
    stochastic_depth_prob: float = 0.2,
) -> nn.Module:
    """torchvision MViT-v2-S (Kinetics-400), 16 x 224 x 224 input, one logit."""
    net = tv_mvit_v2_s(
        weights=None, num_classes=1, dropout=dropout, stochastic_depth_prob=stochastic_depth_prob
    )
    frames, side = INPUT
    if resample_input:
        log.warning(
            "mvit_v2_s: clips that are not %d x %d x %d are resampled to it inside the network "
            "(resample_input=true; recorded in the model config)",
            frames,
            side,
            side,
        )
    model = MViTClassifier(net, resample_input)
    return apply_pretrained(model, "mvit_v2_s", pretrained, weights_path, SOURCE)
