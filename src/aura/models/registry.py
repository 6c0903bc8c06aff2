"""The one timm-style registry of every model AURA trains: ``create_model(name, **cfg)``.

Each entry names its :class:`~aura.models.kinds.ModelKind`, which says what its training cell
reads and how its artifact is stored. The family modules (``baselines``, ``naive_cnn``,
``r3d18_inception``, ``vit``, ``x3d``, ``slowfast``, ``swin3d``, ``mvit``, ``two_stream``) register their builders with
:func:`register_model` when imported; the registry imports them on first use.

- ``clips`` (deep video classifiers, the default kind): a builder has keyword-only arguments
  ``pretrained``, ``weights_path`` and its settings (each with a default); the settings make the
  model's :class:`ModelSettings` schema. Every such model maps a normalised float clip batch
  (N, 3, T, H, W) to logits (N, 1).
- ``features`` (scikit-learn pipelines over the feature table): registered with an explicit
  ``settings`` schema (a :class:`~aura.config.Section`); the builder is
  ``builder(settings, *, seed)`` and returns the unfitted pipeline.

Either way the schema is ``training.model_params.<model>``, so a typo in the config is refused
by name when Kedro starts.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar, get_type_hints

import torch
from pydantic import Field, field_validator
from pydantic import create_model as make_settings_model
from torch import nn

from aura.config import Section, UnknownKeyError
from aura.models.kinds import CLIPS, KINDS, ModelKind
from aura.models.stem import InputFilter, apply_input_filter
from aura.models.weights import STATUS_ATTR, Pretrained, parse_pretrained

log = logging.getLogger(__name__)

#: Where the settings live in the Kedro parameters (used in error messages).
CONFIG_PREFIX = "training.model_params"
#: Imported in this order, which is the registration order (cheap models first).
FAMILY_MODULES = (
    "aura.models.baselines",
    "aura.models.naive_cnn",
    "aura.models.r3d18_inception",
    "aura.models.vit",
    "aura.models.x3d",
    "aura.models.slowfast",
    "aura.models.swin3d",
    "aura.models.mvit",
    "aura.models.two_stream",
)
#: Arguments every clip-model builder takes besides its settings.
RESERVED = ("pretrained", "weights_path")
#: Keys of ``training.model_params.<model>`` that configure loading and the loop, not the net.
LOOP_KEYS = (*RESERVED, "trainer")

Builder = TypeVar("Builder", bound=Callable[..., Any])

#: Kept for callers that catch it: an unknown setting is a :class:`aura.config.UnknownKeyError`.
UnknownSettingError = UnknownKeyError


class ModelSettings(Section):
    """``training.model_params.<model>`` of a deep model: weights and loop overrides here; each
    registered builder adds its own settings (the defaults of its keyword arguments) as fields."""

    PREFIX: ClassVar[str] = CONFIG_PREFIX

    pretrained: Pretrained = False
    weights_path: str | None = None
    # rgb: the clip as it is; srm: its high-pass noise residual (aura.models.stem), for every family
    input_filter: InputFilter = "rgb"
    # overrides of training.trainer for this model (checked against it where the loop is set up)
    trainer: dict[str, Any] = Field(default_factory=dict)

    @field_validator("pretrained", mode="before")
    @classmethod
    def _pretrained(cls, value: Any) -> Pretrained:
        try:
            return parse_pretrained(value)
        except ValueError:
            raise ValueError("must be true, false or 'auto'") from None

    def net_kwargs(self) -> dict[str, Any]:
        """The architecture settings: what the builder takes besides the weights, as JSON values
        (a tuple setting comes as a list), so the config recorded in an artifact compares equal
        after its JSON round trip."""
        return self.model_dump(mode="json", exclude=set(LOOP_KEYS))


@dataclass(frozen=True)
class ModelEntry:
    """A registered builder, its kind, its settings with their defaults, and their schema."""

    name: str
    kind: ModelKind
    builder: Callable[..., Any]
    defaults: Mapping[str, Any]
    summary: str
    settings: type[Section]  # a ModelSettings subclass for clip models
    #: False for an audit model (e.g. ``metadata``): trained and reported like any other, but
    #: never the release's default choice (it may still be listed in ``release.models``)
    releasable: bool = True


_REGISTRY: dict[str, ModelEntry] = {}


def _clip_schema(key: str, builder: Callable[..., Any]) -> type[ModelSettings]:
    """The :class:`ModelSettings` of a clip builder: its keyword-only settings and defaults."""
    params = inspect.signature(builder).parameters
    for reserved in RESERVED:
        if reserved not in params:
            raise TypeError(f"builder {key} must take a keyword argument {reserved!r}")
    defaults: dict[str, Any] = {}
    for pname, param in params.items():
        if pname in RESERVED:
            continue
        if param.kind is not param.KEYWORD_ONLY or param.default is param.empty:
            raise TypeError(f"builder {key}: setting {pname!r} must be keyword-only with a default")
        defaults[pname] = param.default
    hints = get_type_hints(builder)
    return make_settings_model(
        f"{key}_settings",
        __base__=ModelSettings,
        __module__=builder.__module__,
        **{k: (hints.get(k, Any), v) for k, v in defaults.items()},
    )


def _check_features_builder(key: str, builder: Callable[..., Any]) -> None:
    params = list(inspect.signature(builder).parameters.values())
    if (
        len(params) != 2
        or params[0].kind not in (params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD)
        or params[1].name != "seed"
        or params[1].kind is not params[1].KEYWORD_ONLY
    ):
        raise TypeError(f"builder {key}: a features builder is builder(settings, *, seed)")


def register_model(
    fn: Builder | None = None,
    *,
    name: str | None = None,
    kind: ModelKind = CLIPS,
    settings: type[Section] | None = None,
    releasable: bool = True,
) -> Builder | Callable[[Builder], Builder]:
    """Decorator: register ``fn`` under ``name`` (default: its function name) as a ``kind`` model.

    Clip models take their schema from the builder's keyword arguments; features models give
    ``settings`` (a :class:`~aura.config.Section` subclass) and a ``builder(settings, *, seed)``.
    ``releasable=False`` marks an audit model the release never picks by itself.
    """

    def wrap(builder: Builder) -> Builder:
        key = name or builder.__name__
        if kind not in KINDS.values():
            raise TypeError(f"builder {key}: kind must be one of {sorted(KINDS)}, got {kind!r}")
        if kind == CLIPS:
            if settings is not None:
                raise TypeError(f"builder {key}: a clip model's settings are its keyword arguments")
            schema: type[Section] = _clip_schema(key, builder)
        else:
            if settings is None or not issubclass(settings, Section):
                raise TypeError(f"builder {key}: a {kind.name} model needs settings=<Section>")
            _check_features_builder(key, builder)
            schema = settings
        defaults = {k: f.default for k, f in schema.model_fields.items()}
        if kind == CLIPS:  # the builder's own settings, not the ones every clip model has
            defaults = {k: v for k, v in defaults.items() if k not in ModelSettings.model_fields}
        old = _REGISTRY.get(key)
        if old is not None and old.builder.__qualname__ != builder.__qualname__:
            raise ValueError(f"model {key!r} is already registered by {old.builder.__module__}")
        summary = (inspect.getdoc(builder) or "").split("\n", 1)[0]
        _REGISTRY[key] = ModelEntry(key, kind, builder, defaults, summary, schema, releasable)
        return builder

    return wrap(fn) if fn is not None else wrap


def _load_families() -> None:
    for module in FAMILY_MODULES:
        importlib.import_module(module)


def list_models(kind: ModelKind | str | None = None, *, sort: bool = True) -> list[str]:
    """Names of the registered models (of ``kind`` only, if given), sorted; ``sort=False``: in
    :data:`FAMILY_MODULES` order, then registration order (the default ``training.models``), so
    the order does not depend on which family module a process happened to import first."""
    _load_families()
    if isinstance(kind, str):
        if kind not in KINDS:
            raise ValueError(f"unknown model kind {kind!r}; known kinds: {', '.join(KINDS)}")
        kind = KINDS[kind]
    names = [n for n, e in _REGISTRY.items() if kind is None or e.kind == kind]
    if sort:
        return sorted(names)
    rank = {module: i for i, module in enumerate(FAMILY_MODULES)}
    return sorted(names, key=lambda n: rank.get(_REGISTRY[n].builder.__module__, len(rank)))


def model_entry(name: str) -> ModelEntry:
    """The registry entry of ``name``; ValueError listing the known names if there is none."""
    _load_families()
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def model_defaults(name: str) -> dict[str, Any]:
    """The settings of model ``name`` with their default values."""
    return dict(model_entry(name).defaults)


def model_settings(name: str) -> type[Section]:
    """The settings schema of model ``name`` (``training.model_params.<name>``); a
    :class:`ModelSettings` subclass for clip models."""
    return model_entry(name).settings


def create_model(
    name: str, pretrained: Pretrained | str = False, weights_path: str | None = None, **cfg: Any
) -> Any:
    """Build model ``name`` with settings ``cfg``.

    A clip model is the torch network (see :mod:`aura.models.weights` for weights); it carries
    ``pretrained_status``, ``model_name`` and ``model_cfg`` (all architecture settings). A
    features model is its unfitted scikit-learn pipeline; ``cfg`` may hold ``seed`` (its random
    state) besides the settings, and it takes no pretrained weights. An unknown setting raises
    :class:`UnknownSettingError` naming ``training.model_params.<name>.<key>``.
    """
    entry = model_entry(name)
    if entry.kind != CLIPS:
        if parse_pretrained(pretrained) is not False or weights_path:
            raise ValueError(
                f"{name} is a {entry.kind.name} model: it has no pretrained weights "
                "(pretrained / weights_path are for clip models)"
            )
        seed = cfg.pop("seed", 0)
        return build_model(name, cfg, seed=seed)
    params = {**cfg, "pretrained": pretrained, "weights_path": weights_path}
    return build_model(name, entry.settings.from_params(params, f"{CONFIG_PREFIX}.{name}"))


def build_model(name: str, settings: Section | Mapping[str, Any] | None, *, seed: int = 0) -> Any:
    """Build model ``name`` from its ``training.model_params.<name>`` settings.

    ``seed`` is the random state of a features model's estimator (clip networks are seeded by
    the training loop).
    """
    entry = model_entry(name)
    settings = entry.settings.from_params(settings, f"{CONFIG_PREFIX}.{name}")
    if entry.kind != CLIPS:
        return entry.builder(settings, seed=seed)
    assert isinstance(settings, ModelSettings)
    mode = settings.pretrained
    if mode is False and settings.weights_path:
        log.warning(
            "%s: weights_path %s is ignored because pretrained is false",
            name,
            settings.weights_path,
        )
    net = settings.net_kwargs()
    builder_args = {k: v for k, v in net.items() if k != "input_filter"}
    model = entry.builder(pretrained=mode, weights_path=settings.weights_path, **builder_args)
    status = getattr(model, STATUS_ATTR, None)
    if not isinstance(status, str):
        raise RuntimeError(f"builder of {name} did not record {STATUS_ATTR}")
    model = apply_input_filter(model, settings.input_filter)
    object.__setattr__(model, STATUS_ATTR, status)
    object.__setattr__(model, "model_name", name)
    object.__setattr__(model, "model_cfg", net)
    log.info(
        "built %s (%s): pretrained %s, input %s",
        name,
        entry.summary,
        status,
        settings.input_filter,
    )
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
