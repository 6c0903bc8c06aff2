"""``x3d``: pytorchvideo X3D (XS/S/M) with a single-logit head that pools adaptively.

pytorchvideo quirks handled here: ``create_x3d`` ends in a Softmax unless ``head_activation`` is
None, and its head pools with an ``AvgPool3d`` whose kernel is computed from
``input_clip_length``/``input_crop_size``, so any other clip size fails or pools a corner; that
pool is replaced by ``AdaptiveAvgPool3d(1)``. XS, S and M share one architecture (width 2.0,
depth 2.2, bottleneck 2.25, head 2048): they differ only in the clip size their Kinetics weights
were trained on (4×160², 13×160², 16×224²).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from pytorchvideo.models.x3d import create_x3d
from torch import nn

from aura.models.registry import VideoClassifier, register_model
from aura.models.weights import Pretrained, PretrainedSource, apply_pretrained

ZOO_URL = "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics"


@dataclass(frozen=True)
class X3DVariant:
    """One of pytorchvideo's Kinetics-400 X3D models (hub ``x3d_xs``/``x3d_s``/``x3d_m``)."""

    clip_length: int
    crop_size: int
    file_name: str
    width_factor: float = 2.0
    depth_factor: float = 2.2
    bottleneck_factor: float = 2.25
    head_dim_out: int = 2048


VARIANTS = {
    "XS": X3DVariant(4, 160, "X3D_XS.pyth"),
    "S": X3DVariant(13, 160, "X3D_S.pyth"),
    "M": X3DVariant(16, 224, "X3D_M.pyth"),
}


class X3DClassifier(VideoClassifier):
    """A pytorchvideo X3D ``Net`` (``self.net``) returning (N, 1) logits for any clip size."""

    cam_layer: str = "net.blocks.4"  # Grad-CAM target (aura.explain): last residual stage

    def __init__(self, net: nn.Module, variant: X3DVariant) -> None:
        super().__init__()
        self.net = net
        #: (frames, side) the variant's Kinetics weights were trained with.
        self.recommended_input = (variant.clip_length, variant.crop_size)

    @property
    def head_prefix(self) -> str:
        """State-dict prefix of the new final projection (not loaded from Kinetics)."""
        return f"blocks.{len(self.net.blocks) - 1}.proj."

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_clip(x)
        return self.net(x)


@register_model
def x3d(
    *,
    pretrained: Pretrained,
    weights_path: str | None,
    variant: str = "M",
    width_factor: float | None = None,
    depth_factor: float | None = None,
    bottleneck_factor: float | None = None,
    head_dim_out: int | None = None,
    dropout: float = 0.5,
) -> nn.Module:
    """pytorchvideo X3D (Kinetics-400) with one logit; factors override the variant's."""
    spec = VARIANTS.get(str(variant).upper())
    if spec is None:
        raise ValueError(f"x3d: variant must be one of {sorted(VARIANTS)}, got {variant!r}")
    net = create_x3d(
        input_clip_length=spec.clip_length,
        input_crop_size=spec.crop_size,
        model_num_class=1,
        dropout_rate=dropout,
        width_factor=spec.width_factor if width_factor is None else width_factor,
        depth_factor=spec.depth_factor if depth_factor is None else depth_factor,
        bottleneck_factor=spec.bottleneck_factor
        if bottleneck_factor is None
        else bottleneck_factor,
        head_dim_out=spec.head_dim_out if head_dim_out is None else head_dim_out,
        head_activation=None,
    )
    head = net.blocks[-1]
    if not isinstance(getattr(head.pool, "pool", None), nn.AvgPool3d):
        raise RuntimeError("x3d: unexpected pytorchvideo head layout (ProjectedPool.pool)")
    head.pool.pool = nn.AdaptiveAvgPool3d(1)
    model = X3DClassifier(net, spec)
    source = PretrainedSource(
        file_name=spec.file_name,
        url=f"{ZOO_URL}/{spec.file_name}",
        target="net",
        skip=(model.head_prefix,),
    )
    return apply_pretrained(model, "x3d", pretrained, weights_path, source)
