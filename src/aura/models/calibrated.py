"""A trained clip model's logit, Platt-scaled on its own selection videos.

Each fold model of the grid is trained on different videos for a few epochs, so the K models of
a model family come out at different logit scales and offsets. Per-fold ROC-AUC does not see
that; pooled out-of-fold AUC (every original scored once, by its fold's model) and the ensemble
of fold models do. ``training.trainer.calibration: platt`` maps each fold model's logit ``z``
to ``a * z + b``, fitted on the fold's inner selection videos only
(:func:`aura.training.calibration.selection_calibration`), never on the videos it scores.
The map is part of :class:`~aura.models.artifacts.ClipModelConfig`, so inference, the
release and explanations all get the calibrated model from ``TrainedClipModel.network()``.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from aura.models.stem import keep_traits


class CalibratedClassifier(nn.Module):
    """``a * net(x) + b``; keeps ``net``'s registry name, settings, frame minimum and Grad-CAM
    layer. The map is not in the state dict (it lives in the model config), so ``net``'s
    weights load unchanged."""

    def __init__(self, net: nn.Module, a: float, b: float) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("a", torch.tensor(float(a)), persistent=False)
        self.register_buffer("b", torch.tensor(float(b)), persistent=False)
        keep_traits(self, net)
        for name in ("model_name", "model_cfg"):
            if hasattr(net, name):
                object.__setattr__(self, name, getattr(net, name))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.net(x)
        return z * self.a.to(z.dtype) + self.b.to(z.dtype)


def apply_calibration(net: nn.Module, calibration: Mapping[str, float] | None) -> nn.Module:
    """``net`` behind its Platt map ``{"a": ..., "b": ...}``; ``net`` itself for ``None``."""
    if calibration is None:
        return net
    if missing := {"a", "b"} - set(calibration):
        raise ValueError(f"a clip model's calibration needs keys {sorted(missing)}")
    return CalibratedClassifier(net, calibration["a"], calibration["b"])
