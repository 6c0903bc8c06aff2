"""``vit_gru`` and ``vit_transformer``: a timm ViT embeds each frame, a temporal model scores the clip.

The ViT is built with ``num_classes=0`` (it returns pooled [CLS] features) and
``dynamic_img_size=True``, so any H=W that is a multiple of the patch size works whatever
``img_size`` the position embedding was made for.
"""

from __future__ import annotations

from typing import Any

import timm
import torch
from torch import nn

from aura.models.registry import VideoClassifier, register_model
from aura.models.weights import Pretrained, PretrainedSource, apply_pretrained

#: ``vit_kwargs`` that the wrapper itself sets.
FIXED_VIT_KWARGS = ("num_classes", "img_size", "dynamic_img_size", "pretrained")


def build_vit(
    model: str, vit_name: str, img_size: int, vit_kwargs: dict[str, Any] | None
) -> tuple[nn.Module, PretrainedSource]:
    """A timm ViT feature extractor (random weights) and the source of its pretrained weights
    (target ``vit`` of the wrapper)."""
    extra = dict(vit_kwargs or {})
    if fixed := sorted(set(extra) & set(FIXED_VIT_KWARGS)):
        raise ValueError(f"{model}: vit_kwargs may not set {fixed} (use img_size / pretrained)")
    if not timm.is_model(vit_name):
        raise ValueError(f"{model}: timm has no model {vit_name!r}")
    kwargs: dict[str, Any] = {"num_classes": 0, "img_size": img_size, "dynamic_img_size": True}
    kwargs.update(extra)
    vit = timm.create_model(vit_name, pretrained=False, **kwargs)
    return vit, PretrainedSource(timm_name=vit_name, timm_kwargs=kwargs, target="vit")


class _FrameViT(VideoClassifier):
    """Shared part: per-frame ViT features (N, T, D)."""

    def __init__(self, vit: nn.Module) -> None:
        super().__init__()
        self.vit = vit
        self.dim = int(vit.num_features)

    def frame_features(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, h, w = self.check_clip(x)
        frames = x.transpose(1, 2).reshape(n * t, c, h, w)
        return self.vit(frames).view(n, t, self.dim)


class ViTGRU(_FrameViT):
    """Frame features → GRU → last hidden state → linear."""

    def __init__(self, vit: nn.Module, hidden: int = 256, layers: int = 2) -> None:
        super().__init__(vit)
        self.gru = nn.GRU(self.dim, hidden, num_layers=layers, batch_first=True)
        self.fc = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h_n = self.gru(self.frame_features(x))
        return self.fc(h_n[-1])


class ViTTransformer(_FrameViT):
    """Frame features + learned time embedding → TransformerEncoder → mean over T → linear."""

    def __init__(
        self, vit: nn.Module, layers: int, heads: int, max_frames: int, dropout: float
    ) -> None:
        super().__init__(vit)
        if self.dim % heads:
            raise ValueError(
                f"vit_transformer: feature size {self.dim} is not divisible by {heads} heads"
            )
        self.max_frames = max_frames
        self.time_embed = nn.Parameter(torch.zeros(1, max_frames, self.dim))
        nn.init.trunc_normal_(self.time_embed, std=0.02)
        layer = nn.TransformerEncoderLayer(
            self.dim, heads, 4 * self.dim, dropout, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(self.dim)
        self.fc = nn.Linear(self.dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 5 and x.shape[2] > self.max_frames:
            raise ValueError(f"vit_transformer: {x.shape[2]} frames > max_frames={self.max_frames}")
        feats = self.frame_features(x)
        feats = self.encoder(feats + self.time_embed[:, : feats.shape[1]])
        return self.fc(self.norm(feats).mean(dim=1))


def _finish(
    model: _FrameViT,
    name: str,
    pretrained: Pretrained,
    weights_path: str | None,
    source: PretrainedSource,
    freeze_backbone: bool,
) -> nn.Module:
    apply_pretrained(model, name, pretrained, weights_path, source)
    if freeze_backbone:
        model.freeze("vit")
    return model


@register_model
def vit_gru(
    *,
    pretrained: Pretrained,
    weights_path: str | None,
    vit_name: str = "vit_base_patch16_224",
    img_size: int = 224,
    vit_kwargs: dict[str, Any] | None = None,
    hidden: int = 256,
    layers: int = 2,
    freeze_backbone: bool = False,
) -> nn.Module:
    """ImageNet ViT per frame → 2-layer GRU."""
    vit, source = build_vit("vit_gru", vit_name, img_size, vit_kwargs)
    model = ViTGRU(vit, hidden, layers)
    return _finish(model, "vit_gru", pretrained, weights_path, source, freeze_backbone)


@register_model
def vit_transformer(
    *,
    pretrained: Pretrained,
    weights_path: str | None,
    vit_name: str = "vit_base_patch16_224",
    img_size: int = 224,
    vit_kwargs: dict[str, Any] | None = None,
    layers: int = 2,
    heads: int = 8,
    max_frames: int = 64,
    dropout: float = 0.1,
    freeze_backbone: bool = False,
) -> nn.Module:
    """ImageNet ViT per frame → temporal TransformerEncoder."""
    vit, source = build_vit("vit_transformer", vit_name, img_size, vit_kwargs)
    model = ViTTransformer(vit, layers, heads, max_frames, dropout)
    return _finish(model, "vit_transformer", pretrained, weights_path, source, freeze_backbone)
