"""``slowfast``: pytorchvideo SlowFast fed from one clip (fast = every frame, slow = every alpha-th).

pytorchvideo quirks handled here: ``create_slowfast`` pools with fixed ``head_pool_kernel_sizes``
((8, 7, 7), (32, 7, 7)), i.e. only 8×32 frames at 224 px work; the head is built with
``AdaptiveAvgPool3d`` instead. The fast→slow fusion conv must stride time by ``alpha`` so that
ceil(T / alpha) fused frames meet the ceil(T / alpha) slow frames. The model takes a list
[slow, fast], so the wrapper builds both pathways from the single clip.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from pytorchvideo.models.slowfast import create_slowfast
from torch import nn

from aura.models.registry import VideoClassifier, register_model
from aura.models.weights import Pretrained, PretrainedSource, apply_pretrained

ZOO_URL = "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics"
DEPTHS = (18, 50, 101, 152)


@dataclass(frozen=True)
class Checkpoint:
    """A Kinetics-400 SlowFast checkpoint and the settings it was trained with."""

    file_name: str
    fusion_kernel: int
    alpha: int = 4
    beta: int = 8
    width: int = 64


CHECKPOINTS = {
    50: Checkpoint("SLOWFAST_8x8_R50.pyth", 7),
    101: Checkpoint("SLOWFAST_8x8_R101.pyth", 5),
}


class SlowFastClassifier(VideoClassifier):
    """Wraps a pytorchvideo SlowFast ``Net``: (N, 3, T, H, W) → [every alpha-th frame, all] → (N, 1)."""

    def __init__(self, net: nn.Module, alpha: int) -> None:
        super().__init__()
        self.net = net
        self.alpha = alpha
        self.min_frames = alpha

    @property
    def head_prefix(self) -> str:
        """State-dict prefix of the new final projection (not loaded from Kinetics)."""
        return f"blocks.{len(self.net.blocks) - 1}.proj."

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_clip(x)
        return self.net([x[:, :, :: self.alpha], x])


@register_model
def slowfast(
    *,
    pretrained: Pretrained,
    weights_path: str | None,
    depth: int = 50,
    alpha: int = 4,
    beta: int = 8,
    width: int = 64,
    fusion_kernel: int | None = None,
    dropout: float = 0.5,
) -> nn.Module:
    """pytorchvideo SlowFast (R50 Kinetics-400 by default); width = slow stem channels."""
    if depth not in DEPTHS:
        raise ValueError(f"slowfast: depth must be one of {DEPTHS}, got {depth}")
    if alpha < 1 or beta < 1 or width % beta:
        raise ValueError(
            f"slowfast: need alpha, beta >= 1 and width divisible by beta ({width}, {beta})"
        )
    ckpt = CHECKPOINTS.get(depth)
    kernel = fusion_kernel or (ckpt.fusion_kernel if ckpt else 7)
    if kernel % 2 == 0:
        raise ValueError(f"slowfast: fusion_kernel must be odd, got {kernel}")
    net = create_slowfast(
        model_depth=depth,
        model_num_class=1,
        dropout_rate=dropout,
        slowfast_channel_reduction_ratio=(beta,),
        slowfast_fusion_conv_kernel_size=(kernel, 1, 1),
        slowfast_fusion_conv_stride=(alpha, 1, 1),
        stem_dim_outs=(width, width // beta),
        head_pool=nn.AdaptiveAvgPool3d,
        head_output_size=(1, 1, 1),
        head_activation=None,
    )
    model = SlowFastClassifier(net, alpha)
    if ckpt is None:
        reason = (
            f"pytorchvideo publishes Kinetics SlowFast weights for depth 50/101 only, not {depth}"
        )
        source = PretrainedSource(target="net", skip=(model.head_prefix,), unpublished=reason)
    else:
        source = PretrainedSource(
            file_name=ckpt.file_name,
            url=f"{ZOO_URL}/{ckpt.file_name}",
            target="net",
            skip=(model.head_prefix,),
        )
    return apply_pretrained(model, "slowfast", pretrained, weights_path, source)
