"""``AugmentConfig``: which ops run, how likely and how strong, K variants per video, output caps."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field, create_model, field_validator, model_validator

from aura.augment.settings import OpSettings
from aura.augment.spatial import SPATIAL_SETTINGS
from aura.augment.temporal import TEMPORAL_SETTINGS
from aura.config import FieldProblem, Section
from aura.video.writer import ENCODERS

#: Every op's settings schema, in application order (spatial, then temporal).
OP_SCHEMA: dict[str, type[OpSettings]] = {**SPATIAL_SETTINGS, **TEMPORAL_SETTINGS}
#: Parameter namespace used in error messages (``conf/base/parameters_augmentation.yml``).
PREFIX = "augmentation"


class _OpsBase(Section):
    def items(self) -> list[tuple[str, OpSettings]]:
        """``(name, settings)`` of every op, in application order."""
        return [(name, getattr(self, name)) for name in OP_SCHEMA]


#: ``augmentation.ops``: one settings block per op (a missing block keeps that op's defaults).
Ops = create_model(
    "Ops", __base__=_OpsBase, **{name: (cls, cls()) for name, cls in OP_SCHEMA.items()}
)


class AugmentConfig(Section):
    """Stage-1 settings (``augmentation``); build it with :meth:`from_params`.

    ``ops`` holds each op's settings (``enabled``, ``p`` and the op's ranges). ``max_side``
    caps the longer output side (``None``: source size); ``min_ops`` forces at least that many
    ops on each variant; ``chunk_mb`` bounds decoded frames held when a plan reads backwards.
    ``output_dir`` is where the pipeline writes variants (not part of :meth:`fingerprint`).
    """

    PREFIX: ClassVar[str] = PREFIX

    k: int = Field(1, ge=0, le=1000)  # variants per video; 0 turns stage 1 off
    seed: int = Field(0, ge=0, le=2**63 - 1)
    max_side: int | None = Field(640, ge=16, le=16384)  # null: source resolution
    min_ops: int = Field(1, ge=0, le=len(OP_SCHEMA))  # so no variant is a plain re-encode
    codec: str = "h264"
    crf: int | None = Field(18, ge=0, le=51)  # null: the encoder's default
    chunk_mb: int = Field(128, ge=1, le=65536)  # memory for decoded frames read backwards
    output_dir: str | None = None
    ops: Ops = Ops()  # type: ignore[valid-type]

    @classmethod
    def from_params(cls, params: Any = None, prefix: str | None = None) -> AugmentConfig:
        """Validate the ``augmentation`` section (or a mapping holding it under that key).

        Missing keys take defaults; unknown or out-of-range keys raise
        :class:`~aura.config.ConfigError` naming the full key, e.g.
        ``augmentation.ops.rotation.max_degrees must be >= 0``.
        """
        if isinstance(params, Mapping) and set(params) == {PREFIX}:
            params = params[PREFIX]
        return super().from_params(params, prefix)

    @field_validator("codec")
    @classmethod
    def _codec(cls, codec: str) -> str:
        if codec not in ENCODERS:
            raise ValueError(f"must be one of {sorted(ENCODERS)}")
        return codec

    @model_validator(mode="after")
    def _some_op(self) -> AugmentConfig:
        if self.min_ops > 0 and not any(o.enabled and o.p > 0 for _, o in self.ops.items()):
            raise FieldProblem("min_ops", f"is {self.min_ops} but no op is enabled with p > 0")
        return self

    def to_params(self) -> dict[str, Any]:
        """The settings as a plain mapping (no ``output_dir``); ``from_params(to_params())``
        gives an equal config."""
        return self.model_dump(mode="json", exclude={"output_dir"})

    def render_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`aura.augment.render_variant` from these settings."""
        return {
            "max_side": self.max_side,
            "codec": self.codec,
            "crf": self.crf,
            "chunk_mb": self.chunk_mb,
        }

    def fingerprint(self) -> str:
        """A short stable hash of the settings, for keying rendered outputs."""
        blob = json.dumps(self.to_params(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]
