"""``r3d18_inception``: torchvision R3D-18 (Kinetics-400) features → Inception-style 3D head."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn
from torchvision.models.video import R3D_18_Weights, r3d_18

from aura.models.registry import VideoClassifier, register_model
from aura.models.weights import Pretrained, PretrainedSource, apply_pretrained

#: Kinetics-400 weights: ``r3d_18-b3b3357e.pth`` under ``torch.hub.get_dir()/checkpoints``.
R3D18_URL = R3D_18_Weights.KINETICS400_V1.url
R3D18_FILE = R3D18_URL.rsplit("/", 1)[-1]
FEATURE_CHANNELS = 512
#: torchvision's classifier ``fc`` is replaced by the Inception head, so it is not loaded.
SOURCE = PretrainedSource(file_name=R3D18_FILE, url=R3D18_URL, target="backbone", skip=("fc.",))


def _conv_bn(c_in: int, c_out: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv3d(c_in, c_out, kernel, padding=kernel // 2, bias=False),
        nn.BatchNorm3d(c_out),
        nn.ReLU(inplace=True),
    )


class Inception3d(nn.Module):
    """Four parallel branches (1³; 1³→3³; 1³→3³→3³; 3³ max-pool→1³), concatenated."""

    def __init__(self, c_in: int, branch: int) -> None:
        super().__init__()
        self.b1 = _conv_bn(c_in, branch, 1)
        self.b3 = nn.Sequential(_conv_bn(c_in, branch, 1), _conv_bn(branch, branch, 3))
        self.b5 = nn.Sequential(
            _conv_bn(c_in, branch, 1), _conv_bn(branch, branch, 3), _conv_bn(branch, branch, 3)
        )
        self.pool = nn.Sequential(nn.MaxPool3d(3, stride=1, padding=1), _conv_bn(c_in, branch, 1))
        self.out_channels = 4 * branch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.pool(x)], dim=1)


class R3D18Inception(VideoClassifier):
    """R3D-18 stem + layer1-4 (keys as in torchvision) → Inception3d → GAP → dropout → linear."""

    cam_layer: str = "inception"  # Grad-CAM target (aura.explain): last 3D conv block

    def __init__(self, branch_channels: int = 64, dropout: float = 0.5) -> None:
        super().__init__()
        tv = r3d_18(weights=None)
        self.backbone = nn.Sequential(
            OrderedDict(
                (name, getattr(tv, name))
                for name in ("stem", "layer1", "layer2", "layer3", "layer4")
            )
        )
        self.inception = Inception3d(FEATURE_CHANNELS, branch_channels)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(self.inception.out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_clip(x)
        feats = self.pool(self.inception(self.backbone(x))).flatten(1)
        return self.fc(self.dropout(feats))


@register_model
def r3d18_inception(
    *,
    pretrained: Pretrained,
    weights_path: str | None,
    branch_channels: int = 64,
    dropout: float = 0.5,
    freeze_backbone: bool = False,
) -> nn.Module:
    """R3D-18 (Kinetics-400) backbone with an Inception-style 3D head."""
    model = R3D18Inception(branch_channels, dropout)
    apply_pretrained(model, "r3d18_inception", pretrained, weights_path, SOURCE)
    if freeze_backbone:
        model.freeze("backbone")
    return model
