"""training.trainer.loss: bce | focal | class_balanced, against hand-computed values on a skewed
(1:9) fold, and one short fit with each loss on a skewed set of generated videos."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from aura.config import ConfigError
from aura.models import create_model
from aura.training import TrainConfig, fit_clip_model
from aura.training.losses import FocalLoss, WeightedBCE, class_balanced_weights, make_loss
from tests.conftest import make_clip_items

#: A skewed fold: 1 fake in 10.
SKEWED = [1] + [0] * 9


def _bce(z: float, y: int) -> float:
    p = 1.0 / (1.0 + math.exp(-z))
    return -(y * math.log(p) + (1 - y) * math.log(1 - p))


def test_class_balanced_weights_follow_the_effective_number() -> None:
    beta = 0.9
    n_real, n_fake = 9, 1
    eff = [(1 - beta**n) / (1 - beta) for n in (n_real, n_fake)]  # effective numbers
    raw = [1 / e for e in eff]
    expected = [2 * r / sum(raw) for r in raw]
    w = class_balanced_weights([n_real, n_fake], beta)
    assert w.tolist() == pytest.approx(expected, rel=1e-6)
    assert w.sum().item() == pytest.approx(2.0) and w[1] > w[0]  # the rare class weighs more
    # beta -> 0: equal weights; beta -> 1: inverse frequency (9:1)
    assert class_balanced_weights([9, 1], 0.0).tolist() == pytest.approx([1.0, 1.0])
    near = class_balanced_weights([9, 1], 0.999999)
    assert (near[1] / near[0]).item() == pytest.approx(9.0, rel=1e-3)
    with pytest.raises(ValueError, match="cb_beta"):
        class_balanced_weights([9, 1], 1.0)


def test_losses_match_hand_computed_values() -> None:
    logits = torch.tensor([2.0, -1.0, 0.5, -3.0])
    y = torch.tensor([1.0, 0.0, 0.0, 1.0])
    per = [_bce(z, int(t)) for z, t in zip(logits.tolist(), y.tolist(), strict=True)]
    assert make_loss("bce")(logits, y).item() == pytest.approx(sum(per) / 4, rel=1e-5)
    gamma, alpha = 2.0, 0.25
    focal = []
    for z, t in zip(logits.tolist(), y.tolist(), strict=True):
        p = 1 / (1 + math.exp(-z))
        p_t = p if t else 1 - p
        a_t = alpha if t else 1 - alpha
        focal.append(a_t * (1 - p_t) ** gamma * _bce(z, int(t)))
    got = make_loss("focal", focal_gamma=gamma, focal_alpha=alpha)(logits, y).item()
    assert got == pytest.approx(sum(focal) / 4, rel=1e-5)
    # gamma 0 and no alpha: plain BCE
    assert FocalLoss(0.0)(logits, y).item() == pytest.approx(sum(per) / 4, rel=1e-5)
    beta = 0.99
    w = class_balanced_weights([9, 1], beta)
    cb = make_loss("class_balanced", SKEWED, cb_beta=beta)
    assert isinstance(cb, WeightedBCE)
    expected = sum(w[int(t)].item() * b for t, b in zip(y.tolist(), per, strict=True)) / 4
    assert cb(logits, y).item() == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="pos_weight"):
        make_loss("focal", pos_weight=9.0)
    with pytest.raises(ValueError, match="loss must be one of"):
        make_loss("hinge")


def test_focal_down_weights_easy_examples() -> None:
    y = torch.tensor([1.0])
    easy, hard = torch.tensor([4.0]), torch.tensor([-1.0])  # p(fake) 0.98 vs 0.27
    bce, focal = make_loss("bce"), make_loss("focal", focal_gamma=2.0)
    ratio_easy = (focal(easy, y) / bce(easy, y)).item()
    ratio_hard = (focal(hard, y) / bce(hard, y)).item()
    assert ratio_easy == pytest.approx((1 - torch.sigmoid(easy)).item() ** 2, rel=1e-5)
    assert ratio_easy < 0.001 < 0.5 < ratio_hard < 1.0


def test_loss_settings_are_checked() -> None:
    cfg = TrainConfig.from_params({"loss": "focal", "focal_gamma": 1.5, "focal_alpha": 0.5})
    assert (cfg.loss, cfg.focal_gamma, cfg.focal_alpha, cfg.cb_beta) == ("focal", 1.5, 0.5, 0.999)
    with pytest.raises(ConfigError, match=r"training\.trainer\.loss"):
        TrainConfig.from_params({"loss": "hinge"})
    with pytest.raises(ConfigError, match=r"training\.trainer\.cb_beta"):
        TrainConfig.from_params({"loss": "class_balanced", "cb_beta": 1.0})
    with pytest.raises(ConfigError, match=r"training\.trainer\.focal_gama: unknown key"):
        TrainConfig.from_params({"focal_gama": 2.0})
    with pytest.raises(ConfigError, match=r"class_weighting.*applies to loss bce only"):
        TrainConfig.from_params({"loss": "focal", "class_weighting": "inverse_frequency"})


@pytest.mark.parametrize("loss", ["bce", "focal", "class_balanced"])
def test_a_short_fit_on_a_skewed_fold_trains_with_each_loss(loss: str, tmp_path: Path) -> None:
    items = make_clip_items(tmp_path / "videos", 10)  # every third fake: 4 fakes, 6 reals
    train = [it for it in items if it.target == 1][:1] + [it for it in items if it.target == 0]
    assert [it.target for it in train].count(1) == 1  # 1:6
    cfg = TrainConfig(
        num_frames=4,
        clip_size=32,
        batch_size=4,
        max_epochs=2,
        lr=1e-3,
        loss=loss,
        cb_beta=0.9,
        precision="32-true",
        balanced_batches=False,
    )
    torch.manual_seed(0)
    net = create_model("naive_cnn", width=4)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    result = fit_clip_model(net, train, items[6:], cfg, tmp_path / "ckpt")
    assert result.config["loss"] == loss and result.epochs_run == 2
    losses = [row["train_loss"] for row in result.history]
    assert len(losses) == 2 and all(math.isfinite(v) and v > 0 for v in losses)
    assert any(not torch.equal(before[k], v) for k, v in net.state_dict().items())
