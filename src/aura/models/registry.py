"""timm-style registry of deep video classifiers: ``create_model(name, pretrained, **cfg)``.

Each family module (``naive_cnn``, ``r3d18_inception``, ``vit``, ``x3d``, ``slowfast``) registers
its builders with :func:`register_model` when imported; the registry imports them on first use.
A builder is a function with keyword-only arguments ``pretrained``, ``weights_path`` and its
settings (each with a default); the settings are what ``cfg`` may contain, nothing else.
Every model maps a normalised float clip batch (N, 3, T, H, W) to logits (N, 1).
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
from torch import nn

from aura.models.weights import STATUS_ATTR, Pretrained, parse_pretrained

log = logging.getLogger(__name__)

#: Where the settings live in the Kedro parameters (used in error messages).
CONFIG_PREFIX = "training.model_params"
FAMILY_MODULES = (
    "aura.models.naive_cnn",
    "aura.models.r3d18_inception",
    "aura.models.vit",
    "aura.models.x3d",
    "aura.models.slowfast",
)
RESERVED = ("pretrained", "weights_path")

Builder = TypeVar("Builder", bound=Callable[..., nn.Module])


class UnknownSettingError(TypeError, ValueError):
    """A cfg key that the model does not have (catchable as TypeError or ValueError)."""


@dataclass(frozen=True)
class ModelEntry:
    """A registered builder and its settings with their defaults."""

    name: str
    builder: Callable[..., nn.Module]
    defaults: Mapping[str, Any]
    summary: str


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(
    fn: Builder | None = None, *, name: str | None = None
) -> Builder | Callable[[Builder], Builder]:
    """Decorator: register ``fn`` under ``name`` (default: its function name)."""

    def wrap(builder: Builder) -> Builder:
        key = name or builder.__name__
        params = inspect.signature(builder).parameters
        for reserved in RESERVED:
            if reserved not in params:
                raise TypeError(f"builder {key} must take a keyword argument {reserved!r}")
        defaults: dict[str, Any] = {}
        for pname, param in params.items():
            if pname in RESERVED:
                continue
            if param.kind is not param.KEYWORD_ONLY or param.default is param.empty:
                raise TypeError(
                    f"builder {key}: setting {pname!r} must be keyword-only with a default"
                )
            defaults[pname] = param.default
        old = _REGISTRY.get(key)
        if old is not None and old.builder.__qualname__ != builder.__qualname__:
            raise ValueError(f"model {key!r} is already registered by {old.builder.__module__}")
        summary = (inspect.getdoc(builder) or "").split("\n", 1)[0]
        _REGISTRY[key] = ModelEntry(key, builder, defaults, summary)
        return builder

    return wrap(fn) if fn is not None else wrap


def _load_families() -> None:
    for module in FAMILY_MODULES:
        importlib.import_module(module)


def list_models() -> list[str]:
    """Names of all registered models, sorted."""
    _load_families()
    return sorted(_REGISTRY)


def model_entry(name: str) -> ModelEntry:
    """The registry entry of ``name``; ValueError listing the known names if there is none."""
    _load_families()
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def model_defaults(name: str) -> dict[str, Any]:
    """The settings of model ``name`` with their default values."""
    return dict(model_entry(name).defaults)


def create_model(
    name: str, pretrained: Pretrained | str = False, weights_path: str | None = None, **cfg: Any
) -> nn.Module:
    """Build model ``name`` with settings ``cfg``; see :mod:`aura.models.weights` for weights.

    The result carries ``pretrained_status``, ``model_name`` and ``model_cfg`` (all settings).
    """
    entry = model_entry(name)
    unknown = sorted(set(cfg) - set(entry.defaults))
    if unknown:
        known = ", ".join(sorted(entry.defaults)) or "none"
        raise UnknownSettingError(
            f"{CONFIG_PREFIX}.{name}.{unknown[0]} is not a setting of {name} (known: {known})"
        )
    mode = parse_pretrained(pretrained)
    if mode is False and weights_path:
        log.warning(
            "%s: weights_path %s is ignored because pretrained is false", name, weights_path
        )
    model = entry.builder(pretrained=mode, weights_path=weights_path, **cfg)
    if not isinstance(getattr(model, STATUS_ATTR, None), str):
        raise RuntimeError(f"builder of {name} did not record {STATUS_ATTR}")
    object.__setattr__(model, "model_name", name)
    object.__setattr__(model, "model_cfg", {**entry.defaults, **cfg})
    log.info("built %s (%s): pretrained %s", name, entry.summary, getattr(model, STATUS_ATTR))
    return model


class VideoClassifier(nn.Module):
    """Base class: checks the clip batch and keeps a frozen backbone in eval mode."""

    #: Fewest frames the architecture accepts.
    min_frames: int = 1

    def __init__(self) -> None:
        super().__init__()
        self._frozen: str | None = None

    def freeze(self, attr: str) -> None:
        """Stop gradients into submodule ``attr`` and keep it in eval mode (BN statistics fixed)."""
        module = self.get_submodule(attr)
        for param in module.parameters():
            param.requires_grad_(False)
        self._frozen = attr
        module.eval()

    def train(self, mode: bool = True) -> VideoClassifier:
        super().train(mode)
        if self._frozen is not None:
            self.get_submodule(self._frozen).eval()
        return self

    def check_clip(self, x: torch.Tensor) -> tuple[int, int, int, int, int]:
        """Validate ``x`` as (N, 3, T, H, W) with T >= ``min_frames``; return its shape."""
        if x.ndim != 5 or x.shape[1] != 3 or x.shape[2] < self.min_frames:
            raise ValueError(
                f"{type(self).__name__} expects a float clip batch (N, 3, T, H, W) with "
                f"T >= {self.min_frames}; got shape {tuple(x.shape)}"
            )
        n, c, t, h, w = x.shape
        return n, c, t, h, w
