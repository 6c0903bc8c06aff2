"""The project's parameters as one typed tree: every block of ``conf/<env>/parameters*.yml``.

:func:`resolve` validates the merged parameters (``conf/base`` + ``--env`` + ``--params``) into
an :class:`AuraConfig`: an unknown key anywhere stops with its dotted path and the closest valid
key. :class:`aura.context.AuraContext` hands each block to the nodes as its typed section, with
every default filled in; :class:`aura.hooks.GridHooks` resolves them when Kedro starts, so a typo
stops ``kedro run`` before any node runs. ``aura config [--env ENV] [--params ...]`` prints the
resolved values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, model_validator

from aura.augment import AugmentConfig
from aura.config import FieldProblem, Section, parse
from aura.executor import ExecutorConfig
from aura.inference.config import InferenceConfig
from aura.pipelines.config import (
    CorpusConfig,
    EvaluationConfig,
    FeaturesConfig,
    IngestConfig,
    ReleaseConfig,
    ScaledFeaturesConfig,
    ScalingConfig,
)
from aura.tracking import config_hash
from aura.training.config import TrainingConfig


def _block() -> Any:
    """A block that may be left out of the config: its defaults, validated like a given one."""
    return Field(default_factory=dict, validate_default=True)


class AuraConfig(Section):
    """All parameters; one field per top-level key of the parameter files."""

    # per-video results keyed by (input content hash, stage params): a re-run skips finished
    # videos and a killed run resumes. Delete cache_dir/<stage> after changing stage code.
    cache_dir: str = "data/09_cache"
    executor: ExecutorConfig = _block()
    corpus: CorpusConfig = _block()
    ingest: IngestConfig = _block()
    augmentation: AugmentConfig = _block()
    features: FeaturesConfig = _block()
    scaling: ScalingConfig = _block()
    scaled_features: ScaledFeaturesConfig = _block()
    training: TrainingConfig = _block()
    evaluation: EvaluationConfig = _block()
    release: ReleaseConfig = _block()
    inference: InferenceConfig = _block()

    @model_validator(mode="after")
    def _output_dirs(self) -> AuraConfig:
        for block in ("augmentation", "scaling"):
            if getattr(self, block).output_dir is None:
                raise FieldProblem(
                    (block, "output_dir"), "is required (conf/base: a path from globals.yml)"
                )
        return self

    @model_validator(mode="after")
    def _released_models_trained(self) -> AuraConfig:
        trained = self.training.models
        if self.release.models and (extra := [m for m in self.release.models if m not in trained]):
            raise FieldProblem(
                ("release", "models"),
                f"lists {extra}, not in training.models ({', '.join(trained)})",
            )
        return self

    def blocks(self) -> dict[str, Any]:
        """Top-level key → typed block (or value): what Kedro gets as its parameters."""
        return {name: getattr(self, name) for name in type(self).model_fields}

    def hash(self) -> str:
        """Short hash of every resolved value (defaults included): the run's ``config_hash``
        (equal to ``config_hash(plain(self.blocks()))``, what the report prints)."""
        return config_hash(self.to_params())


def resolve(params: Mapping[str, Any] | None) -> AuraConfig:
    """Validate the merged parameters (raw mappings and/or typed blocks) into an AuraConfig.

    Raises :class:`~aura.config.ConfigError` listing every bad key by its dotted path.
    """
    return parse(AuraConfig, params, "")


def flat(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a.b.c": leaf}`` for every leaf of nested mappings (as MLflow params)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flat(value, f"{name}."))
        else:
            out[name] = value
    return out
