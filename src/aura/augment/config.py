"""``AugmentConfig``: which ops run, how likely and how strong, K variants per video, output caps."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aura.augment._schema import Field, check_section
from aura.augment.spatial import SPATIAL_SCHEMA
from aura.augment.temporal import TEMPORAL_SCHEMA
from aura.video.writer import ENCODERS

#: Every op's settings, in application order (spatial, then temporal).
OP_SCHEMA: dict[str, dict[str, Field]] = {**SPATIAL_SCHEMA, **TEMPORAL_SCHEMA}
#: Parameter namespace used in error messages (``conf/base/parameters_augmentation.yml``).
PREFIX = "augmentation"

_TOP: dict[str, Field] = {
    "k": Field(1, "int", 0, 1000),  # variants per video; 0 turns stage 1 off
    "seed": Field(0, "int", 0, 2**63 - 1),
    "max_side": Field(640, "int", 16, 16384),  # or null: source resolution
    "min_ops": Field(1, "int", 0, len(OP_SCHEMA)),  # so no variant is a plain re-encode
    "crf": Field(18, "int", 0, 51),  # or null: the encoder's default
    "chunk_mb": Field(128, "int", 1, 65536),  # memory for decoded frames when reading backwards
}


def default_ops() -> dict[str, dict[str, Any]]:
    """Every op's default settings."""
    return {name: check_section(f"{PREFIX}.ops.{name}", {}, s) for name, s in OP_SCHEMA.items()}


@dataclass(frozen=True)
class AugmentConfig:
    """Validated stage-1 settings; build it with :meth:`from_params`.

    ``ops`` maps each op name to its settings (``enabled``, ``p`` and the op's ranges).
    ``max_side`` caps the longer output side (``None``: source size); ``min_ops`` forces at
    least that many ops on each variant; ``chunk_mb`` bounds decoded frames held when a plan
    reads backwards.
    """

    k: int = 1
    seed: int = 0
    max_side: int | None = 640
    min_ops: int = 1
    codec: str = "h264"
    crf: int | None = 18
    chunk_mb: int = 128
    ops: Mapping[str, Mapping[str, Any]] = field(default_factory=default_ops)

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | None = None) -> AugmentConfig:
        """Validate a parameters mapping (the ``augmentation`` section, or one holding it).

        Missing keys take defaults; unknown or out-of-range keys raise ``ValueError`` naming
        the full key, e.g. ``augmentation.ops.rotation.max_degrees must be >= 0.0``.
        """
        params = dict(params or {})
        if set(params) == {PREFIX} and isinstance(params[PREFIX], Mapping):
            params = dict(params[PREFIX])
        ops_given = params.pop("ops", None) or {}
        codec = params.pop("codec", "h264")
        nullable = {k: params.get(k, _TOP[k].default) is None for k in ("max_side", "crf")}
        checked = check_section(
            PREFIX, {k: v for k, v in params.items() if not nullable.get(k)}, _TOP
        )
        for k, is_null in nullable.items():
            if is_null:
                checked[k] = None
        if codec not in ENCODERS:
            raise ValueError(f"{PREFIX}.codec must be one of {sorted(ENCODERS)}, got {codec!r}")
        if not isinstance(ops_given, Mapping):
            raise ValueError(f"{PREFIX}.ops must be a mapping, got {type(ops_given).__name__}")
        unknown = sorted(set(map(str, ops_given)) - set(OP_SCHEMA))
        if unknown:
            raise ValueError(
                f"{PREFIX}.ops.{unknown[0]} is not a known op (known: {', '.join(OP_SCHEMA)})"
            )
        ops = {
            name: check_section(f"{PREFIX}.ops.{name}", ops_given.get(name), schema)
            for name, schema in OP_SCHEMA.items()
        }
        if checked["min_ops"] > 0 and not any(o["enabled"] and o["p"] > 0 for o in ops.values()):
            raise ValueError(
                f"{PREFIX}.min_ops is {checked['min_ops']} but no op is enabled with p > 0"
            )
        return cls(codec=codec, ops=ops, **checked)

    def to_params(self) -> dict[str, Any]:
        """The settings as a plain mapping; ``from_params(to_params())`` gives an equal config."""
        return {
            "k": self.k,
            "seed": self.seed,
            "max_side": self.max_side,
            "min_ops": self.min_ops,
            "codec": self.codec,
            "crf": self.crf,
            "chunk_mb": self.chunk_mb,
            "ops": {name: dict(s) for name, s in self.ops.items()},
        }

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
