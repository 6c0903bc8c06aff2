"""``two_stream``: an RGB stream and an optical-flow stream, two small 3D CNNs fused late.

The flow is computed inside ``forward`` from the clip batch itself, so training, validation,
``aura predict`` and the explanations all see the same input with nothing else to pass: each
clip is de-normalised (``aura.training.clips`` MEAN/STD) to grey uint8 frames and OpenCV's
Farneback dense flow is computed between consecutive sampled frames, giving (N, 2, T-1, H, W)
displacements in pixels, clipped to +-``FLOW_CLIP`` and divided by ``FLOW_SCALE``. The flow is
not differentiable (it is an input, like the frames) and runs on the CPU: on CUDA every batch
makes a device -> host -> device round trip.

Cost: Farneback took 0.28 ms per 48 x 48 frame pair and 2.0 ms at 112 x 112 on one core of
the 2-core dev CPU (measured), i.e. N x (T-1) pairs per batch (56 for batch 8, T=8), serial in
the loop's process. A demo cell (4 epochs, 48-px crops) took 2-3 s with its clips cached.

With ``input_filter: srm`` the RGB stream reads the noise residual and the flow is still
computed from the clip itself (the stem passes it as ``raw``: see :mod:`aura.models.stem`).
Fusion: ``average`` (each stream its own logit, averaged) or ``concat`` (features concatenated,
one linear layer).
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
import torch
from torch import nn

from aura.models.registry import VideoClassifier, register_model
from aura.models.weights import NO_PRETRAINED, Pretrained, apply_pretrained
from aura.training.clips import MEAN, STD

Fusion = Literal["average", "concat"]
#: Farneback displacements are clipped to this many pixels, then divided by ``FLOW_SCALE``.
FLOW_CLIP = 20.0
FLOW_SCALE = 4.0
#: cv2.calcOpticalFlowFarneback(pyr_scale, levels, winsize, iterations, poly_n, poly_sigma, flags)
FARNEBACK = (0.5, 3, 9, 3, 5, 1.1, 0)


def grey_frames(clip: torch.Tensor) -> np.ndarray:
    """(3, T, H, W) normalised clip -> (T, H, W) uint8 grey frames (channel mean)."""
    pixels = (clip.detach().float().cpu() * STD + MEAN) * 255.0
    return pixels.mean(0).round().clamp(0, 255).to(torch.uint8).numpy()


def farneback_flow(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, T, H, W) normalised clips -> (N, 2, T-1, H, W) scaled Farneback flow (float32,
    on ``x``'s device): x then y displacement between consecutive frames."""
    n, _, t, h, w = x.shape
    out = np.zeros((n, t - 1, h, w, 2), dtype=np.float32)
    for i in range(n):
        grey = grey_frames(x[i])
        for k in range(t - 1):
            out[i, k] = cv2.calcOpticalFlowFarneback(grey[k], grey[k + 1], None, *FARNEBACK)
    flow = torch.from_numpy(out).permute(0, 4, 1, 2, 3).clamp_(-FLOW_CLIP, FLOW_CLIP) / FLOW_SCALE
    return flow.to(x.device)


def _block(c_in: int, c_out: int, stride: tuple[int, int, int]) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv3d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm3d(c_out),
        nn.ReLU(inplace=True),
    )


class Stream(nn.Module):
    """Three 3D conv blocks (spatial stride 2 each, temporal stride 2 in the last) -> GAP."""

    def __init__(self, c_in: int, width: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            _block(c_in, width, (1, 2, 2)),
            _block(width, 2 * width, (1, 2, 2)),
            _block(2 * width, 4 * width, (2, 2, 2)),
        )
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.out_channels = 4 * width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.features(x)).flatten(1)


class TwoStream(VideoClassifier):
    """RGB stream on the clip, flow stream on its Farneback flow, fused late to (N, 1) logits."""

    min_frames = 2  # flow needs a pair
    cam_layer: str = "rgb.features.2"  # Grad-CAM target (aura.explain): the RGB stream's last block
    #: the input filter's stem passes the unfiltered clip as ``raw`` (flow is computed from it)
    takes_raw_clip = True

    def __init__(self, width: int = 16, fusion: Fusion = "average", dropout: float = 0.3) -> None:
        super().__init__()
        if fusion not in ("average", "concat"):
            raise ValueError(f"two_stream: fusion must be 'average' or 'concat', got {fusion!r}")
        self.fusion = fusion
        self.rgb = Stream(3, width)
        self.flow = Stream(2, width)
        self.dropout = nn.Dropout(dropout)
        c = self.rgb.out_channels
        if fusion == "concat":
            self.fc = nn.Linear(2 * c, 1)
        else:
            self.fc_rgb = nn.Linear(c, 1)
            self.fc_flow = nn.Linear(c, 1)

    def forward(self, x: torch.Tensor, raw: torch.Tensor | None = None) -> torch.Tensor:
        self.check_clip(x)
        with torch.no_grad():
            flow = farneback_flow(x if raw is None else raw).to(x.dtype)
        a = self.dropout(self.rgb(x))
        b = self.dropout(self.flow(flow))
        if self.fusion == "concat":
            return self.fc(torch.cat([a, b], dim=1))
        return (self.fc_rgb(a) + self.fc_flow(b)) / 2


@register_model
def two_stream(
    *,
    pretrained: Pretrained,
    weights_path: str | None,
    width: int = 16,
    fusion: Fusion = "average",
    dropout: float = 0.3,
) -> nn.Module:
    """RGB + Farneback optical-flow 3D CNN streams, fused late (from scratch)."""
    model = TwoStream(width, fusion, dropout)
    return apply_pretrained(model, "two_stream", pretrained, weights_path, NO_PRETRAINED)
