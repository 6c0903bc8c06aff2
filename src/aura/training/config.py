"""``training`` parameters: the CV grid, the Lightning loop and every model's own settings.

Defaults live here (and in :class:`~aura.training.fit.TrainConfig` and each registered model's
settings schema, :func:`aura.models.model_settings`); ``conf/base/parameters_training.yml``
states only the demo's choices. ``training.model_params.<model>`` is checked against that
model's schema, and a deep model's ``trainer`` overrides against ``training.trainer``, when
Kedro starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field, ValidationInfo, field_validator

from aura.config import ConfigError, FieldProblem, Section, suggest, unknown_key
from aura.models import ModelSettings, list_models, model_settings
from aura.training.fit import TrainConfig


def default_models() -> tuple[str, ...]:
    """``training.models`` when not set: every registered model, in registration order."""
    return tuple(list_models(sort=False))


def known_models() -> tuple[str, ...]:
    """Model names ``training.models`` may list: every registered model."""
    return tuple(list_models())


def merge_trainer(
    trainer: TrainConfig, overrides: Mapping[str, Any], prefix: str = "", **fixed: Any
) -> TrainConfig:
    """``trainer`` with a model's ``trainer`` overrides (and ``fixed`` values) applied, checked;
    errors name keys below ``prefix``."""
    return TrainConfig.from_params({**trainer.model_dump(), **overrides, **fixed}, prefix=prefix)


class TrainingConfig(Section):
    """``training``: folds, models, the deep models' loop and each model's settings."""

    PREFIX: ClassVar[str] = "training"

    n_folds: int = Field(5, ge=2)  # StratifiedGroupKFold splits over originals, grouped by cascade
    seed: int = Field(0, ge=0)  # fold assignment; model seeds are seed + fold
    auto_reduce_folds: bool = False  # true: fewer folds when a fold would miss a class
    # share of each fold's training-side cascade groups held out for the deep models' early
    # stopping and epoch choice (cv_folds inner_role "select"); 0: no selection, last epoch kept
    inner_val_fraction: float = Field(0.2, ge=0, lt=0.5)
    models: tuple[str, ...] = Field(default_factory=default_models, min_length=1)
    trainer: TrainConfig = TrainConfig()
    # checkpoints per (model, fold, config): an interrupted fold resumes
    checkpoint_dir: str = "data/06_models/checkpoints"
    # one settings block per model; a model without one gets its defaults
    model_params: dict[str, Any] = Field(default_factory=dict, validate_default=True)

    @field_validator("models")
    @classmethod
    def _known_models(cls, models: tuple[str, ...]) -> tuple[str, ...]:
        known = known_models()
        if unknown := [m for m in models if m not in known]:
            hints = [suggest(m, known) for m in unknown]
            hint = hints[0] if len(unknown) == 1 and hints[0].startswith("did") else ""
            raise FieldProblem(
                (), f"has unknown model(s) {unknown}; {hint or 'known: ' + ', '.join(known)}"
            )
        if len(set(models)) != len(models):
            raise FieldProblem((), f"lists a model twice: {list(models)}")
        return models

    @field_validator("model_params")
    @classmethod
    def _model_settings(cls, given: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        """Each block parsed by its model's schema; listed models without one get defaults."""
        known = known_models()
        for name in given:
            if name not in known:
                raise unknown_key(name, known)
        trainer = info.data.get("trainer")
        names = [*given, *(m for m in info.data.get("models", ()) if m not in given)]
        out: dict[str, Any] = {}
        problems = []
        for name in names:
            try:
                out[name] = model_settings(name).from_params(given.get(name), prefix="")
            except ConfigError as exc:
                problems += [p.under((name,)) for p in exc.problems]
                continue
            # only deep models' settings carry loop overrides
            if not isinstance(trainer, TrainConfig) or not isinstance(out[name], ModelSettings):
                continue
            try:
                merge_trainer(trainer, out[name].trainer)
            except ConfigError as exc:
                problems += [p.under((name, "trainer")) for p in exc.problems]
        if problems:
            raise ConfigError(problems)
        return out

    def settings(self, model: str) -> Section:
        """``model_params.<model>`` (parsed; defaults when the config has no block)."""
        if model not in self.model_params:
            return model_settings(model).from_params(None)
        return self.model_params[model]

    def trainer_for(self, model: str, fold: int = 0) -> TrainConfig:
        """The loop of ``model`` on ``fold``: ``trainer`` + the model's overrides, seeded
        ``seed + fold``."""
        settings = self.settings(model)
        overrides = getattr(settings, "trainer", {})
        prefix = f"training.model_params.{model}.trainer"
        return merge_trainer(self.trainer, overrides, prefix, seed=self.seed + fold)
