"""Typed trained-model artifacts and the one place they are written and read.

A grid cell produces one of three values: a :class:`~aura.models.baselines.FittedBaseline`
(scikit-learn pipeline + feature names), a :class:`TrainedClipModel` (weights + resolved config +
what the fit did) or a :class:`SkippedCell`. :func:`save_artifact` / :func:`load_artifact` store
them without pickle: baselines and skipped cells as skops files (only trusted types load), clip
models as safetensors (tensors only; config and fit report as JSON in the header). Loading a file
therefore never runs code; anything else is refused with an error naming the file.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from aura.models.calibrated import apply_calibration

#: File suffix of each artifact format.
SUFFIXES = {"skops": ".skops", "safetensors": ".safetensors"}
ArtifactFormat = Literal["skops", "safetensors"]

#: Types our baselines hold that skops does not trust by default (checked on load, by name).
TRUSTED_TYPES = (
    "numpy.dtype",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
)


class ArtifactError(ValueError):
    """A model file that cannot be loaded safely (wrong format, untrusted types, damaged)."""


@dataclass(frozen=True)
class SkippedCell:
    """Stands in for a model when the cell's fold does not exist (``auto_reduce_folds``)."""

    model: str
    fold: int
    reason: str


@dataclass(frozen=True)
class FitReport:
    """What one deep-model fit did (logged to MLflow as ``<model>.fold_<k>.<key>``).

    ``n_train_clips`` counts the clips trained on (the fold's ``inner_role`` ``fit`` originals
    and variants), ``n_val_clips`` the selection clips early stopping and the best epoch were
    chosen on (``select`` originals; 0: no selection, last epoch kept), never the fold's
    validation videos.
    """

    pretrained_status: str
    batch_size: int
    accumulate_grad_batches: int
    precision: str
    epochs_run: int
    best_epoch: int | None
    best_val_auc: float | None
    stopped_early: bool
    resumed_from: str | None
    n_train_clips: int
    n_val_clips: int

    def as_params(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(
        cls,
        result: Any,
        *,
        pretrained_status: str,
        n_train_clips: int,
        n_val_clips: int,
        **override: Any,
    ) -> FitReport:
        """The report of a :class:`~aura.training.FitResult` (same-named fields), with the clip
        counts and any field given in ``override`` (e.g. a refit has no best epoch)."""
        values = {f.name: getattr(result, f.name) for f in fields(cls) if hasattr(result, f.name)}
        values.update(
            precision=str(result.precision),
            pretrained_status=pretrained_status,
            n_train_clips=n_train_clips,
            n_val_clips=n_val_clips,
            **override,
        )
        return cls(**values)


@dataclass(frozen=True)
class ClipModelConfig:
    """Everything needed to rebuild a trained clip model and feed it like in training."""

    model: str
    fold: int | None  # None: refit on every usable video
    net: dict[str, Any]  # builder settings (architecture), as create_model takes them
    trainer: dict[str, Any]  # resolved TrainConfig (per-model overrides applied)
    pretrained: str
    weights_path: str | None = None
    # Platt map {"a", "b"} of the logit, fitted on the fold's selection videos
    # (aura.models.calibrated); None: the raw logit
    calibration: dict[str, float] | None = None

    @property
    def num_frames(self) -> int:
        return int(self.trainer["num_frames"])

    @property
    def clip_source(self) -> str:
        """``scaled`` (stage-3 videos) or ``native_crop`` (stage-1 files); older files: scaled."""
        return str(self.trainer.get("clip_source") or "scaled")

    @property
    def clip_size(self) -> int | None:
        """The letterbox size of scaled clips (None: their own size, or native crops)."""
        size = self.trainer.get("clip_size")
        return None if size is None or self.clip_source != "scaled" else int(size)

    @property
    def crop_size(self) -> int | None:
        """The side of the native-resolution crops (None: scaled clips)."""
        return int(self.trainer["crop_size"]) if self.clip_source == "native_crop" else None


@dataclass
class TrainedClipModel:
    """A trained deep video model: weights, the resolved config and the fit report."""

    config: ClipModelConfig
    state_dict: dict[str, torch.Tensor]
    fit: FitReport | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # plain JSON data only
    _net: nn.Module | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def model(self) -> str:
        return self.config.model

    def network(self) -> nn.Module:
        """:meth:`build`, once: the same eval-mode network on every call."""
        if self._net is None:
            self._net = self.build()
        return self._net

    def build(self) -> nn.Module:
        """The network in eval mode with the trained weights (no pretrained download), behind
        its calibration map when it has one."""
        from aura.models.registry import create_model

        net = create_model(self.config.model, pretrained=False, **self.config.net)
        net.load_state_dict(self.state_dict)
        return apply_calibration(net, self.config.calibration).eval()


def _skops_payload(obj: Any) -> dict[str, Any]:
    from aura.models.baselines import FittedBaseline

    if isinstance(obj, FittedBaseline):
        return {
            "kind": "baseline",
            "name": obj.name,
            "pipeline": obj.pipeline,
            "feature_names": list(obj.feature_names),
        }
    if isinstance(obj, SkippedCell):
        return {"kind": "skipped", "model": obj.model, "fold": obj.fold, "reason": obj.reason}
    raise TypeError(f"a skops artifact holds a FittedBaseline or SkippedCell, got {type(obj)}")


def load_skops(path: Path) -> Any:
    """Load a skops file trusting only skops' defaults and :data:`TRUSTED_TYPES`."""
    import skops.io as sio

    if not zipfile.is_zipfile(path):
        raise ArtifactError(f"{path}: not a skops file (refused: only skops model files load)")
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as err:  # a zip that is not a skops archive
        raise ArtifactError(f"{path}: not a readable skops file ({err})") from err
    if refused := sorted(set(untrusted) - set(TRUSTED_TYPES)):
        raise ArtifactError(f"{path}: refused, it holds types that are not trusted: {refused}")
    return sio.load(path, trusted=list(untrusted))


def _from_skops(path: Path) -> Any:
    from aura.models.baselines import FittedBaseline

    data = load_skops(path)
    if not isinstance(data, dict) or data.get("kind") not in ("baseline", "skipped"):
        raise ArtifactError(f"{path}: not an AURA baseline model file")
    if data["kind"] == "skipped":
        return SkippedCell(data["model"], int(data["fold"]), data["reason"])
    return FittedBaseline(data["name"], data["pipeline"], list(data["feature_names"]))


def _header(obj: TrainedClipModel | SkippedCell) -> dict[str, str]:
    if isinstance(obj, SkippedCell):
        return {"aura": json.dumps({"kind": "skipped", **asdict(obj)})}
    body = {
        "kind": "clip_model",
        "config": asdict(obj.config),
        "fit": None if obj.fit is None else asdict(obj.fit),
        "extra": obj.extra,
    }
    return {"aura": json.dumps(body)}


def _from_safetensors(path: Path) -> TrainedClipModel | SkippedCell:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = json.loads((f.metadata() or {}).get("aura", "null"))
            state = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (not a dict)
    except Exception as err:  # not a safetensors file (e.g. a pickle): refused, never unpickled
        raise ArtifactError(f"{path}: not a safetensors model file ({err})") from err
    if not isinstance(meta, dict) or meta.get("kind") not in ("clip_model", "skipped"):
        raise ArtifactError(f"{path}: not an AURA clip model file (no 'aura' header)")
    if meta["kind"] == "skipped":
        return SkippedCell(meta["model"], int(meta["fold"]), meta["reason"])
    fit = meta.get("fit")
    return TrainedClipModel(
        ClipModelConfig(**meta["config"]),
        state,
        None if fit is None else FitReport(**fit),
        dict(meta.get("extra") or {}),
    )


def save_artifact(obj: Any, path: str | Path, fmt: ArtifactFormat) -> Path:
    """Write ``obj`` to ``path`` (atomically) in format ``fmt``; returns the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    if fmt == "skops":
        import skops.io as sio

        sio.dump(_skops_payload(obj), tmp)
    elif fmt == "safetensors":
        from safetensors.torch import save_file

        if not isinstance(obj, (TrainedClipModel, SkippedCell)):
            raise TypeError(f"a safetensors artifact holds a TrainedClipModel, got {type(obj)}")
        state = {} if isinstance(obj, SkippedCell) else obj.state_dict
        save_file({k: v.contiguous() for k, v in state.items()}, str(tmp), metadata=_header(obj))
    else:
        raise ValueError(f"unknown artifact format {fmt!r}; expected one of {sorted(SUFFIXES)}")
    tmp.replace(p)
    return p


def load_artifact(path: str | Path, fmt: ArtifactFormat) -> Any:
    """Read an artifact written by :func:`save_artifact`; :class:`ArtifactError` if unsafe."""
    p = Path(path)
    if not p.is_file():
        raise ArtifactError(f"{p}: no such model file")
    if fmt == "skops":
        return _from_skops(p)
    if fmt == "safetensors":
        return _from_safetensors(p)
    raise ValueError(f"unknown artifact format {fmt!r}; expected one of {sorted(SUFFIXES)}")
