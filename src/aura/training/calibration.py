"""Per-fold Platt scaling of a trained clip model on its selection videos
(``training.trainer.calibration``; why: :mod:`aura.models.calibrated`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from torch import nn

from aura.training.clips import ClipItem
from aura.training.fit import TrainConfig, predict_clips

log = logging.getLogger(__name__)


def selection_calibration(
    net: nn.Module, select: Sequence[ClipItem], cfg: TrainConfig, *, where: str = ""
) -> dict[str, float] | None:
    """``{"a", "b"}`` mapping ``net``'s logits to calibrated ones, fitted (L2-penalised with
    ``cfg.calibration_c``) on the ``select`` clips as validation reads them; ``None`` when
    ``cfg.calibration`` is ``none`` or ``select`` lacks a class (logged, naming ``where``)."""
    if cfg.calibration == "none":
        return None
    if len({it.target for it in select}) < 2:
        log.warning(
            "%s: calibration %s skipped: the selection videos hold %s",
            where,
            cfg.calibration,
            "one class only" if select else "nothing",
        )
        return None
    from aura.release.calibration import fit_calibration

    z = predict_clips(
        net,
        select,
        cfg.num_frames,
        cfg.batch_size,
        size=cfg.letterbox_size,
        crop=cfg.native_crop_size,
        logits=True,
        cache_dir=cfg.clip_cache_dir,  # the fit's validation decoded these clips already
    )
    fitted = fit_calibration(z, [it.target for it in select], "platt", platt_c=cfg.calibration_c)
    a, b = float(fitted.params["a"]), float(fitted.params["b"])
    log.info("%s: Platt map on %d selection videos: a=%.3f b=%.3f", where, len(select), a, b)
    return {"a": a, "b": b}
