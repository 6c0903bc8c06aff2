"""``naive_cnn``: a small 2D CNN scored per frame, logits averaged over time."""

from __future__ import annotations

import torch
from torch import nn

from aura.models.registry import VideoClassifier, register_model
from aura.models.weights import NO_PRETRAINED, Pretrained, apply_pretrained


class FrameCNN(VideoClassifier):
    """``blocks`` conv-BN-ReLU stride-2 blocks (width doubling, capped at 8×) → GAP → linear."""

    cam_layer: str = "features"  # Grad-CAM target (aura.explain): last conv block, per frame

    def __init__(self, width: int = 32, blocks: int = 4, dropout: float = 0.0) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for i in range(blocks):
            c_out = width * 2 ** min(i, 3)
            layers += [
                nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
            ]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(c_in, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, h, w = self.check_clip(x)
        frames = x.transpose(1, 2).reshape(n * t, c, h, w)
        feats = self.pool(self.features(frames)).flatten(1)
        logits = self.fc(self.dropout(feats)).view(n, t)
        return logits.mean(dim=1, keepdim=True)


@register_model
def naive_cnn(
    *,
    pretrained: Pretrained,
    weights_path: str | None,
    width: int = 32,
    blocks: int = 4,
    dropout: float = 0.0,
) -> nn.Module:
    """Per-frame 2D CNN baseline (no pretrained weights exist)."""
    if width < 1 or blocks < 1:
        raise ValueError(f"naive_cnn: width and blocks must be >= 1, got {width}, {blocks}")
    model = FrameCNN(width, blocks, dropout)
    return apply_pretrained(model, "naive_cnn", pretrained, weights_path, NO_PRETRAINED)
