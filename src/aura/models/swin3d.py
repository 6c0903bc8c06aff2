"""``swin3d_t``: torchvision's Video Swin Transformer (tiny, Kinetics-400) with one logit.

The architecture settings (``embed_dim``, ``depths``, ``num_heads``, ``window_size``) default to
torchvision's ``swin3d_t``; the Kinetics weights fit only those defaults (any other value with
``pretrained`` true or auto fails fast naming the mismatch). Swin pads every clip to whole
windows, so any (T, H, W) runs; its features are channels-last tokens, so there is no
convolutional Grad-CAM layer (temporal occlusion works, as for the ViTs).
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models.video import Swin3D_T_Weights
from torchvision.models.video.swin_transformer import SwinTransformer3d

from aura.models.registry import VideoClassifier, register_model
from aura.models.weights import Pretrained, PretrainedSource, apply_pretrained

#: Kinetics-400 weights: ``swin3d_t-7615ae03.pth`` under ``torch.hub.get_dir()/checkpoints``.
SWIN3D_T_URL = Swin3D_T_Weights.KINETICS400_V1.url
SOURCE = PretrainedSource(
    file_name=SWIN3D_T_URL.rsplit("/", 1)[-1], url=SWIN3D_T_URL, target="net", skip=("head.",)
)


class Swin3DClassifier(VideoClassifier):
    """A torchvision :class:`SwinTransformer3d` (``self.net``) whose head gives (N, 1) logits."""

    def __init__(self, net: SwinTransformer3d) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_clip(x)
        return self.net(x)


@register_model
def swin3d_t(
    *,
    pretrained: Pretrained,
    weights_path: str | None,
    embed_dim: int = 96,
    depths: tuple[int, ...] = (2, 2, 6, 2),
    num_heads: tuple[int, ...] = (3, 6, 12, 24),
    window_size: tuple[int, int, int] = (8, 7, 7),
    stochastic_depth_prob: float = 0.1,
    dropout: float = 0.0,
) -> nn.Module:
    """torchvision Swin3D-T (Kinetics-400) video transformer with one logit."""
    if len(depths) != len(num_heads):
        raise ValueError(f"swin3d_t: depths {depths} and num_heads {num_heads} differ in length")
    for i, heads in enumerate(num_heads):
        if (embed_dim * 2**i) % heads:
            raise ValueError(
                f"swin3d_t: stage {i} has {embed_dim * 2**i} channels, not divisible by "
                f"num_heads {heads}"
            )
    net = SwinTransformer3d(
        patch_size=[2, 4, 4],
        embed_dim=embed_dim,
        depths=list(depths),
        num_heads=list(num_heads),
        window_size=list(window_size),
        stochastic_depth_prob=stochastic_depth_prob,
        dropout=dropout,
        num_classes=1,
    )
    return apply_pretrained(Swin3DClassifier(net), "swin3d_t", pretrained, weights_path, SOURCE)
