"""The clip models' training loss: ``training.trainer.loss: bce | focal | class_balanced``.

- ``bce``: binary cross-entropy on the logit (``class_weighting: inverse_frequency`` gives it the
  ``n_real / n_fake`` positive weight).
- ``focal``: Lin et al. 2017, ``torchvision.ops.sigmoid_focal_loss``: BCE scaled by
  ``(1 - p_t) ** focal_gamma`` (easy examples count less) and, with ``focal_alpha`` set, by
  ``alpha`` for fakes and ``1 - alpha`` for reals; averaged over the batch.
- ``class_balanced``: Cui et al. 2019: each class weighs ``(1 - beta) / (1 - beta ** n_c)`` (the
  inverse of its effective number of samples, ``n_c`` counted on the fit set), normalised so the
  weights sum to the number of classes; BCE weighted per example, averaged over the batch.
  ``beta`` -> 0 gives equal weights, ``beta`` -> 1 inverse frequency.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import sigmoid_focal_loss

Loss = Literal["bce", "focal", "class_balanced"]
LOSSES: tuple[str, ...] = ("bce", "focal", "class_balanced")


def class_counts(targets: Sequence[int]) -> tuple[int, int]:
    """(n_real, n_fake) of 0/1 ``targets``."""
    t = [int(x) for x in targets]
    return t.count(0), t.count(1)


def class_balanced_weights(counts: Sequence[int], beta: float) -> torch.Tensor:
    """Cui et al. 2019 weights per class: ``(1 - beta) / (1 - beta ** n)``, summing to the
    number of classes. A class with no example gets weight 0 (it never occurs in the batch)."""
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"cb_beta must be in [0, 1), got {beta}")
    n = torch.tensor([float(c) for c in counts], dtype=torch.float64)
    if (n < 0).any() or not (n > 0).any():
        raise ValueError(f"class counts must be >= 0 with at least one example, got {counts}")
    raw = torch.where(n > 0, (1.0 - beta) / (1.0 - beta**n).clamp_min(1e-12), 0.0)
    return (raw * len(counts) / raw.sum()).float()


class FocalLoss(nn.Module):
    """Mean ``sigmoid_focal_loss`` (torchvision) with ``gamma`` and an optional ``alpha``."""

    def __init__(self, gamma: float = 2.0, alpha: float | None = None) -> None:
        super().__init__()
        self.gamma = float(gamma)
        self.alpha = -1.0 if alpha is None else float(alpha)  # torchvision: < 0 means none

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return sigmoid_focal_loss(
            logits.float(), targets.float(), alpha=self.alpha, gamma=self.gamma, reduction="mean"
        )


class WeightedBCE(nn.Module):
    """BCE with a weight per class (index 0 real, 1 fake), averaged over the batch."""

    def __init__(self, class_weights: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("class_weights", class_weights.float().reshape(2))

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        y = targets.float()
        w = self.class_weights.to(y.device)[y.long()]
        return F.binary_cross_entropy_with_logits(logits.float(), y, weight=w)


def make_loss(
    loss: Loss | str = "bce",
    targets: Sequence[int] = (),
    *,
    pos_weight: float | None = None,
    focal_gamma: float = 2.0,
    focal_alpha: float | None = None,
    cb_beta: float = 0.999,
) -> nn.Module:
    """The loss module ``loss(logits, targets)`` (both shaped (N,)); ``targets`` are the fit
    set's labels (class counts of ``class_balanced``)."""
    if loss == "bce":
        weight = None if pos_weight is None else torch.tensor([float(pos_weight)])
        return nn.BCEWithLogitsLoss(pos_weight=weight)
    if pos_weight is not None:
        raise ValueError(f"pos_weight (class_weighting) applies to the bce loss only, not {loss}")
    if loss == "focal":
        return FocalLoss(focal_gamma, focal_alpha)
    if loss == "class_balanced":
        return WeightedBCE(class_balanced_weights(class_counts(targets), cb_beta))
    raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
